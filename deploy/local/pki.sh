# Throw-away PKI with the openssl CLI, sourced by deploy/local/up.sh and bench scripts.
# Set TLS_DIR first (an existing directory, mode 700); run under `umask 077`.
#   make_ca       $TLS_DIR/ca.pem and ca.key (EC P-256, 1 year), kept while valid for a day
#   issue NAME    $TLS_DIR/NAME.pem and NAME.key signed by the CA (30 days; serverAuth and
#                 clientAuth; 127.0.0.1, ::1, localhost and NAME), kept while valid for a day

# needs_cert FILE: true when FILE is missing or expires within a day.
needs_cert() {
  [ ! -s "$1" ] || ! openssl x509 -checkend 86400 -noout -in "$1" >/dev/null 2>&1
}

# make_ca: a self-signed CA (EC P-256) in $TLS_DIR/ca.pem, its key in ca.key.
make_ca() {
  needs_cert "$TLS_DIR/ca.pem" || return 0
  cat >"$TLS_DIR/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
O = kvstore local
CN = kvstore local CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -config "$TLS_DIR/ca.cnf" -extensions v3_ca -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" \
    -days 365 2>/dev/null
  rm -f "$TLS_DIR/ca.cnf"
}

# issue NAME: $TLS_DIR/NAME.pem and NAME.key, signed by the CA, for serverAuth and clientAuth,
# naming 127.0.0.1, ::1, localhost and NAME. Kept while valid for a day and signed by this CA.
issue() {
  local name=$1
  if ! needs_cert "$TLS_DIR/$name.pem" &&
    openssl verify -CAfile "$TLS_DIR/ca.pem" "$TLS_DIR/$name.pem" >/dev/null 2>&1; then
    return 0
  fi
  cat >"$TLS_DIR/$name.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost,DNS:$name
EOF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TLS_DIR/$name.key" -out "$TLS_DIR/$name.csr" \
    -subj "/O=kvstore local/CN=$name" 2>/dev/null
  openssl x509 -req -in "$TLS_DIR/$name.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$TLS_DIR/$name.ext" \
    -out "$TLS_DIR/$name.pem" 2>/dev/null
  rm -f "$TLS_DIR/$name.csr" "$TLS_DIR/$name.ext"
}

