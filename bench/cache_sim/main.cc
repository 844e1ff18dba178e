// cache_sim: hit ratio of the hot-key cache (W-TinyLFU) against LRU and an ideal static cache
// on Zipf traces, with and without a popularity shift. Prints a table and one JSON line.
//
//   cache_sim --keys 1000000 --zipf 0.99 --requests 10000000 --cache-fraction 0.01

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "bench/cache_sim/simulation.h"
#include "bench/common/zipf.h"
#include "nlohmann/json.hpp"

namespace kv::bench {
namespace {

double Ratio(uint64_t hits, uint64_t requests) {
  return requests == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(requests);
}

// Requests after the shift until a window reaches 95% of the policy's last pre-shift window;
// -1 if none does.
int64_t RecoveryRequests(const PolicyResult& p, const SimResult& r, uint64_t window) {
  const uint64_t shift_window = r.half / window;
  if (shift_window == 0) return -1;
  const double before = Ratio(p.window_hits[shift_window - 1], window);
  for (uint64_t w = shift_window; w < p.window_hits.size(); ++w) {
    const uint64_t len = std::min(window, r.requests - w * window);
    if (Ratio(p.window_hits[w], len) >= 0.95 * before) {
      return static_cast<int64_t>((w + 1) * window - r.half);
    }
  }
  return -1;
}

nlohmann::json PolicyJson(const PolicyResult& p, const SimResult& r) {
  return {{"hit_ratio", Ratio(p.hits, r.requests)},
          {"first_half", Ratio(p.first_half_hits, r.half)},
          {"second_half", Ratio(p.second_half_hits, r.requests - r.half)}};
}

int Main(int argc, char** argv) {
  SimConfig c;
  bool shift = true;
  CLI::App app{"Hit-ratio simulation of the hot-key cache (W-TinyLFU) vs LRU vs ideal"};
  app.add_option("--keys", c.keys, "number of distinct keys")->capture_default_str();
  app.add_option("--zipf", c.zipf, "Zipf exponent s")->capture_default_str();
  app.add_option("--requests", c.requests, "trace length")->capture_default_str();
  app.add_option("--cache-fraction", c.cache_fraction, "cache size as a share of the keys")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "trace seed")->capture_default_str();
  app.add_flag("--shift,!--no-shift", shift, "also run the shifting-popularity trace")
      ->capture_default_str();
  app.add_option("--value-bytes", c.value_bytes, "size of each value")->capture_default_str();
  app.add_option("--window", c.window, "requests per window in the shift report")
      ->capture_default_str();
  app.add_option("--shards", c.shards, "HotKeyCache shards (each gets 1/shards of the bytes)")
      ->capture_default_str();
  app.add_option("--window-fraction", c.window_fraction, "TinyLFU admission window share")
      ->capture_default_str();
  app.add_option("--sample-factor", c.sample_factor, "sketch halving period / entries")
      ->capture_default_str();
  app.add_flag("--doorkeeper", c.doorkeeper, "Bloom-filter doorkeeper in front of the sketch");
  app.add_flag("!--no-random-admission", c.random_admission,
               "disable the 1/128 random admission of frequent losers");
  CLI11_PARSE(app, argc, argv);
  if (c.keys == 0 || c.requests == 0 || c.window == 0 || c.shards < 1 || c.cache_fraction <= 0 ||
      c.cache_fraction > 1 || !(c.zipf >= 0)) {
    std::fprintf(stderr,
                 "cache_sim: --keys, --requests, --window, --shards must be > 0, "
                 "--cache-fraction in (0, 1] and --zipf >= 0\n");
    return 2;
  }

  const Simulation sim(c);
  const double ideal = ZipfTopMass(c.keys, c.zipf, sim.cache_entries());
  std::printf("cache_sim: Zipf(s=%.3g) over %u keys, %llu requests, seed %llu\n", c.zipf, c.keys,
              static_cast<unsigned long long>(c.requests), static_cast<unsigned long long>(c.seed));
  std::printf(
      "cache: %.3g%% of keys = %u entries; entry charge %zu B (16 B key, %u B value); "
      "capacity %zu B incl. table+sketch (%d shard(s))\n",
      100 * c.cache_fraction, sim.cache_entries(), sim.entry_charge(), c.value_bytes,
      sim.capacity_bytes(), c.shards);
  std::printf("TinyLFU: window %.3g%%, sample %zux, doorkeeper %s, random admission %s\n\n",
              100 * c.window_fraction, c.sample_factor, c.doorkeeper ? "on" : "off",
              c.random_admission ? "on" : "off");

  const SimResult st = sim.Run(/*shift=*/false);
  const double tiny = Ratio(st.tinylfu.hits, st.requests);
  const double lru = Ratio(st.lru.hits, st.requests);
  const double measured_ideal = Ratio(st.ideal.hits, st.requests);
  std::printf("static popularity (%.1f s)            hit ratio  vs ideal  2nd half\n", st.seconds);
  std::printf("  ideal static top %u (analytic)  %9.4f\n", sim.cache_entries(), ideal);
  std::printf("  ideal static top %u (measured)  %9.4f  %7.1f%%  %8.4f\n", sim.cache_entries(),
              measured_ideal, 100 * measured_ideal / ideal,
              Ratio(st.ideal.second_half_hits, st.requests - st.half));
  std::printf("  W-TinyLFU (HotKeyCache)            %9.4f  %7.1f%%  %8.4f\n", tiny,
              100 * tiny / ideal, Ratio(st.tinylfu.second_half_hits, st.requests - st.half));
  std::printf("  LRU                                %9.4f  %7.1f%%  %8.4f\n", lru,
              100 * lru / ideal, Ratio(st.lru.second_half_hits, st.requests - st.half));
  const bool meets_ideal = tiny >= 0.95 * ideal;
  const bool meets_lru = tiny >= lru + 0.05;
  std::printf("  TinyLFU - LRU = %+.2f points; targets: >= 0.95 x ideal %s, >= LRU + 5 points %s\n",
              100 * (tiny - lru), meets_ideal ? "MET" : "NOT MET", meets_lru ? "MET" : "NOT MET");
  std::printf(
      "  HotKeyCache: %llu entries, %llu / %llu B, %llu window->main, %llu "
      "probation->protected, %llu evictions, %llu rejections\n\n",
      static_cast<unsigned long long>(st.stats.entries),
      static_cast<unsigned long long>(st.stats.bytes_used),
      static_cast<unsigned long long>(st.stats.bytes_limit),
      static_cast<unsigned long long>(st.stats.window_admissions),
      static_cast<unsigned long long>(st.stats.protected_promotions),
      static_cast<unsigned long long>(st.stats.evictions),
      static_cast<unsigned long long>(st.stats.rejections));

  nlohmann::json out = {{"keys", c.keys},
                        {"zipf", c.zipf},
                        {"requests", c.requests},
                        {"cache_fraction", c.cache_fraction},
                        {"cache_entries", sim.cache_entries()},
                        {"capacity_bytes", sim.capacity_bytes()},
                        {"seed", c.seed},
                        {"shards", c.shards},
                        {"window_fraction", c.window_fraction},
                        {"sample_factor", c.sample_factor},
                        {"doorkeeper", c.doorkeeper},
                        {"random_admission", c.random_admission},
                        {"static",
                         {{"ideal_analytic", ideal},
                          {"ideal_measured", measured_ideal},
                          {"tinylfu", tiny},
                          {"lru", lru},
                          {"tinylfu_vs_ideal", tiny / ideal},
                          {"tinylfu_minus_lru", tiny - lru},
                          {"targets_met", meets_ideal && meets_lru},
                          {"seconds", st.seconds}}}};

  if (shift) {
    const SimResult sh = sim.Run(/*shift=*/true);
    const uint64_t second = sh.requests - sh.half;
    std::printf("shifting popularity: ranking remapped after %llu requests (%.1f s)\n",
                static_cast<unsigned long long>(sh.half), sh.seconds);
    std::printf("                      first half  second half\n");
    std::printf("  ideal (oracle)       %9.4f  %11.4f\n", Ratio(sh.ideal.first_half_hits, sh.half),
                Ratio(sh.ideal.second_half_hits, second));
    std::printf("  W-TinyLFU            %9.4f  %11.4f\n",
                Ratio(sh.tinylfu.first_half_hits, sh.half),
                Ratio(sh.tinylfu.second_half_hits, second));
    std::printf("  LRU                  %9.4f  %11.4f\n", Ratio(sh.lru.first_half_hits, sh.half),
                Ratio(sh.lru.second_half_hits, second));
    std::printf("  windows of %llu requests around the shift:\n",
                static_cast<unsigned long long>(c.window));
    std::printf("    requests after the shift   W-TinyLFU       LRU     ideal\n");
    nlohmann::json windows = nlohmann::json::array();
    const uint64_t first = sh.half / c.window;
    for (uint64_t w = first >= 1 ? first - 1 : 0;
         w < sh.tinylfu.window_hits.size() && w < first + 10; ++w) {
      const uint64_t len = std::min(c.window, sh.requests - w * c.window);
      const int64_t end = static_cast<int64_t>((w + 1) * c.window) - static_cast<int64_t>(sh.half);
      const double t = Ratio(sh.tinylfu.window_hits[w], len);
      const double l = Ratio(sh.lru.window_hits[w], len);
      const double i = Ratio(sh.ideal.window_hits[w], len);
      const std::string range =
          std::to_string(end - static_cast<int64_t>(len)) + ".." + std::to_string(end);
      std::printf("    %24s  %10.4f  %8.4f  %8.4f\n", range.c_str(), t, l, i);
      windows.push_back({{"end_after_shift", end}, {"tinylfu", t}, {"lru", l}, {"ideal", i}});
    }
    const int64_t tiny_recovery = RecoveryRequests(sh.tinylfu, sh, c.window);
    const int64_t lru_recovery = RecoveryRequests(sh.lru, sh, c.window);
    std::printf(
        "  requests after the shift until a window is back to 95%% of the pre-shift "
        "window: W-TinyLFU %lld, LRU %lld\n",
        static_cast<long long>(tiny_recovery), static_cast<long long>(lru_recovery));
    out["shift"] = {{"ideal", PolicyJson(sh.ideal, sh)},
                    {"tinylfu", PolicyJson(sh.tinylfu, sh)},
                    {"lru", PolicyJson(sh.lru, sh)},
                    {"window", c.window},
                    {"windows", windows},
                    {"tinylfu_recovery_requests", tiny_recovery},
                    {"lru_recovery_requests", lru_recovery},
                    {"seconds", sh.seconds}};
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace kv::bench

int main(int argc, char** argv) { return kv::bench::Main(argc, argv); }
