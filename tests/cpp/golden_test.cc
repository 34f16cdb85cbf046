// Golden tapes: tapes written by earlier versions of the writer, checked in
// under tests/golden/, must keep reading exactly as they did (DESIGN section 4,
// schema/FORMAT.md "Compatibility"). Each NAME.tape has NAME.jsonl, its
// `dump --format jsonl` when it was written; `verify` must accept it too.
//
// The synthetic golden tapes are made by the test below when
// TRACETAPE_WRITE_GOLDEN names a directory:
//   TRACETAPE_WRITE_GOLDEN=/tmp/g build/cpp/tests/golden_test \
//       --gtest_filter=GoldenTest.WriteSynthetic --gtest_also_run_disabled_tests
// The recorded ones come from `python -m tracetape record` (see
// tests/golden/README.md).
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "synthetic_recording.h"
#include "tracetape/cli/cli.h"
#include "tracetape/format/layout.h"

namespace tracetape {
namespace {

std::string GoldenDir() { return std::string(TRACETAPE_SOURCE_DIR) + "/tests/golden/"; }

struct Golden {
  const char* name;
  size_t min_chunks;
};

// Format 1.0: written by the writer of commit 403b372, before the compact columns.
const Golden kGolden[] = {
    {"synthetic-1.0", 3},  // threads, adopted frames, unbound locals, values
    {"recursion-1.0", 1},  // a real CPython 3.11 recording of samples/programs/recursion.py
    {"threads-1.0", 1},    // a real recording with several threads
    // Format 2.0 (compact columns), the same programs.
    {"synthetic-2.0", 3},
    {"recursion-2.0", 1},
    // Format 2.1 (detached frames): samples/programs/throw_delegating.py.
    {"throw-2.1", 3},
};

int RunCli(const std::vector<std::string>& args, std::string* out, std::string* err) {
  std::ostringstream o, e;
  int rc = cli::Main(args, o, e);
  *out = o.str();
  *err = e.str();
  return rc;
}

TEST(GoldenTest, OldTapesDumpExactlyAsTheyDidWhenWritten) {
  for (const auto& g : kGolden) {
    SCOPED_TRACE(g.name);
    const std::string tape = GoldenDir() + g.name + ".tape";
    const std::string want = testing::ReadFileBytes(GoldenDir() + g.name + ".jsonl");
    ASSERT_FALSE(want.empty());
    std::string out, err;
    ASSERT_EQ(RunCli({"dump", tape, "--format", "jsonl"}, &out, &err), 0) << err;
    EXPECT_TRUE(out == want) << "dump of " << tape << " differs from " << g.name << ".jsonl";
    ASSERT_EQ(RunCli({"verify", tape}, &out, &err), 0) << out << err;
    auto t = replayer::Tape::Open(tape);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE((*t)->complete());
    EXPECT_GE((*t)->chunks().size(), g.min_chunks);
  }
}

// The 2.1 golden tape has what 2.1 added: chunks that detach frames.
TEST(GoldenTest, TheFormat21TapeDetachesFrames) {
  auto t = replayer::Tape::Open(GoldenDir() + "throw-2.1.tape");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  size_t detaching = 0;
  for (size_t c = 0; c < (*t)->chunks().size(); ++c) {
    auto chunk = (*t)->ReadChunk(c);
    ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
    detaching += chunk->detached.empty() ? 0 : 1;
    EXPECT_EQ(chunk->dropped_before, 0u);
  }
  EXPECT_GE(detaching, 3u);
}

// Regenerates the synthetic golden tape with the present writer (only when
// asked: the checked-in one must stay what an old writer produced).
TEST(GoldenTest, DISABLED_WriteSynthetic) {
  const char* dir = std::getenv("TRACETAPE_WRITE_GOLDEN");
  // Run only on request (--gtest_also_run_disabled_tests), which then needs
  // the folder to write to.
  ASSERT_NE(dir, nullptr) << "set TRACETAPE_WRITE_GOLDEN to the folder for the new golden tape";
  testing::ProgramSpec spec;
  spec.seed = 11;
  spec.events = 700;
  spec.plain_threads = 3;
  spec.adopt_every = 200;
  spec.max_adopted_threads = 2;
  testing::SyntheticRecording rec = testing::MakeProgram(spec);
  auto& b = rec.builder;
  // A tail with what MakeProgram does not do: loss, big line jumps both ways,
  // a long local that changes by small edits.
  uint32_t f = b.DefineFile("/golden/tail.py", "def tail():\n    pass\n");
  uint32_t c = b.DefineCode(f, 1, "tail", "tail", {"n"});
  b.DefineThread(9, 99, "Tail");
  b.Loss(5);
  b.Call(9, c, 1, {{"n", "3"}});
  b.Line(9, 2000000000, {{"acc", "Account(owner='ann', balance=70)"}});
  b.Line(9, 2, {{"acc", "Account(owner='ann', balance=65)"}});
  b.Line(9, 7, {{"acc", std::nullopt}});
  b.ChunkBoundary();
  b.Line(9, 3, {{"acc", "[" + std::string(300, '1') + "]"}});
  b.Exception(9, 3, "ValueError('x')");
  b.Return(9, 3, std::nullopt);
  const std::string path =
      std::string(dir) + "/synthetic-" + std::to_string(format::kFormatMajor) + "." + std::to_string(format::kFormatMinor) + ".tape";
  Status s = testing::WriteTape(testing::TestRecordOptions(path), b.raw(), 3);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace tracetape
