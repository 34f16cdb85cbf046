// Replay benchmark (DESIGN section 7): on one tape, times open+index, random
// gotos, single steps both ways, and continue across the whole tape in both
// directions. Python-free; prints one JSON object.
//
// usage: replay_bench TAPE [--samples N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tracetape/replayer/engine.h"

using Clock = std::chrono::steady_clock;
using tracetape::replayer::Engine;

namespace {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double median = 0, p95 = 0, max = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p95 = v[std::min(v.size() - 1, v.size() * 95 / 100)];
  s.max = v.back();
  return s;
}

void Die(const tracetape::Status& s) {
  std::fprintf(stderr, "replay_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: replay_bench TAPE [--samples N]\n");
    return 2;
  }
  int samples = 200;
  if (argc >= 4 && std::string(argv[2]) == "--samples") samples = std::stoi(argv[3]);

  auto t0 = Clock::now();
  auto opened = Engine::Open(argv[1]);
  if (!opened.ok()) Die(opened.status());
  auto& engine = *opened.value();
  // Index: the first state read decodes the first chunk.
  auto st = engine.State();
  if (!st.ok()) Die(st.status());
  double open_ms = Ms(Clock::now() - t0);
  const uint64_t n = engine.size();

  std::mt19937_64 rng(42);
  std::vector<double> gotos, steps_fwd, steps_back, nexts_back;
  for (int i = 0; i < samples; ++i) {
    uint64_t target = rng() % n;
    auto a = Clock::now();
    auto s = engine.Goto(target);
    if (!s.ok()) Die(s);
    auto state = engine.State();
    if (!state.ok()) Die(state.status());
    gotos.push_back(Ms(Clock::now() - a));

    a = Clock::now();
    s = engine.Step(true);
    if (s.ok()) state = engine.State();
    steps_fwd.push_back(Ms(Clock::now() - a));

    a = Clock::now();
    s = engine.Step(false);
    if (s.ok()) state = engine.State();
    steps_back.push_back(Ms(Clock::now() - a));

    a = Clock::now();
    s = engine.Next(false);
    if (s.ok()) state = engine.State();
    nexts_back.push_back(Ms(Clock::now() - a));
  }

  // A breakpoint that never hits: continue scans the whole tape.
  auto bp = engine.AddBreakpoint("no_such_function_anywhere", "", false);
  if (!bp.ok()) Die(bp.status());
  std::string why;
  auto s = engine.Goto(n - 1);
  if (!s.ok()) Die(s);
  auto a = Clock::now();
  s = engine.Continue(false, &why);
  if (!s.ok()) Die(s);
  double rc_ms = Ms(Clock::now() - a);
  a = Clock::now();
  s = engine.Continue(true, &why);
  if (!s.ok()) Die(s);
  double c_ms = Ms(Clock::now() - a);

  Stats g = Summarize(gotos), sf = Summarize(steps_fwd), sb = Summarize(steps_back), nb = Summarize(nexts_back);
  std::printf(
      "{\"tape\": \"%s\", \"events\": %llu, \"chunks\": %zu, \"file_bytes\": %llu,\n"
      " \"open_index_ms\": %.2f,\n"
      " \"goto_ms\": {\"median\": %.3f, \"p95\": %.3f, \"max\": %.3f},\n"
      " \"step_forward_ms\": {\"median\": %.3f, \"p95\": %.3f, \"max\": %.3f},\n"
      " \"step_back_ms\": {\"median\": %.3f, \"p95\": %.3f, \"max\": %.3f},\n"
      " \"next_back_ms\": {\"median\": %.3f, \"p95\": %.3f, \"max\": %.3f},\n"
      " \"reverse_continue_whole_tape_ms\": %.2f, \"continue_whole_tape_ms\": %.2f}\n",
      argv[1], static_cast<unsigned long long>(n), engine.tape().chunks().size(),
      static_cast<unsigned long long>(engine.tape().file_size()), open_ms, g.median, g.p95, g.max, sf.median, sf.p95,
      sf.max, sb.median, sb.p95, sb.max, nb.median, nb.p95, nb.max, rc_ms, c_ms);
  return 0;
}
