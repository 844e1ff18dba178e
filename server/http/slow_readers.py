#!/usr/bin/env python3
"""Measures what slow readers cost an HTTP server: opens N connections with a small receive
buffer, sends one GET on each and never reads the answer, and prints the server's resident
memory (VmRSS) and open descriptors over time. Manual tool (docs/http.md, "Limits"):

  build/bin/kv_http_bench --listen 127.0.0.1:8090 --keys 20 --value-bytes 26214400 &
  python3 server/http/slow_readers.py --port 8090 --pid $! --clients 20 --seconds 40
  # distinct values instead of one: --path '/v1/kv/key-{i}' 

Standard library only. Exits 0; the figures are the result.
"""

import argparse
import os
import socket
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--path", default="/v1/kv/key-0",
                        help="request target; {i} is replaced by the client's number")
    parser.add_argument("--rcvbuf", type=int, default=4096, help="client SO_RCVBUF bytes")
    parser.add_argument("--seconds", type=float, default=40, help="how long to watch")
    parser.add_argument("--every", type=float, default=2, help="seconds between samples")
    args = parser.parse_args()

    base = rss_mib(args.pid)
    print(f"baseline: rss {base:.1f} MiB, fds {open_fds(args.pid)}")
    sockets = []
    for i in range(args.clients):
        path = args.path.replace("{i}", str(i))
        request = f"GET {path} HTTP/1.1\r\nHost: {args.host}\r\n\r\n".encode()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        s.connect((args.host, args.port))
        s.sendall(request)
        sockets.append(s)
    start = time.monotonic()
    peak = base
    while True:
        elapsed = time.monotonic() - start
        rss = rss_mib(args.pid)
        peak = max(peak, rss)
        print(f"t={elapsed:5.1f}s rss {rss:7.1f} MiB (growth {rss - base:7.1f}) "
              f"fds {open_fds(args.pid)}", flush=True)
        if elapsed >= args.seconds:
            break
        time.sleep(args.every)
    print(f"clients {args.clients}: peak growth {peak - base:.1f} MiB")
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
