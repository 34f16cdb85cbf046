// Creating the output file (DESIGN section 5 and reliability.md P5): mode
// exactly 0600 whatever the umask, and a symlink planted at the output path is
// never followed.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "synthetic_recording.h"
#include "tracetape/recorder/tape_writer.h"

namespace tracetape::recorder {
namespace {

using testing::ReadFileBytes;
using testing::TempDir;
using testing::WriteFileBytes;

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

void WriteAll(int fd, const std::string& s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

TEST(CreateTapeFileTest, ModeIsExactly0600EvenWithUmaskZero) {
  TempDir dir;
  ScopedUmask umask0(0);
  auto fd = CreateTapeFile(dir.File("out.tape"));
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  struct stat st;
  ASSERT_EQ(::fstat(*fd, &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ::close(*fd);
  ASSERT_EQ(::stat(dir.File("out.tape").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(CreateTapeFileTest, ModeIs0600UnderARestrictiveUmaskToo) {
  TempDir dir;
  ScopedUmask umask077(077);
  auto fd = CreateTapeFile(dir.File("out.tape"));
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  struct stat st;
  ASSERT_EQ(::fstat(*fd, &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ::close(*fd);
}

TEST(CreateTapeFileTest, ReturnsAWritableDescriptorForThePath) {
  TempDir dir;
  auto fd = CreateTapeFile(dir.File("out.tape"));
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  WriteAll(*fd, "tape bytes");
  ::close(*fd);
  EXPECT_EQ(ReadFileBytes(dir.File("out.tape")), "tape bytes");
}

TEST(CreateTapeFileTest, PlantedSymlinkIsReplacedNotFollowed) {
  TempDir dir;
  const std::string target = dir.File("precious.txt");
  WriteFileBytes(target, "do not touch");
  ASSERT_EQ(::chmod(target.c_str(), 0644), 0);
  const std::string path = dir.File("out.tape");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);

  auto fd = CreateTapeFile(path);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  WriteAll(*fd, "new tape");
  ::close(*fd);

  struct stat st;
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the symlink itself must be replaced by a regular file";
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFileBytes(path), "new tape");
  EXPECT_EQ(ReadFileBytes(target), "do not touch") << "the symlink's target was written through";
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u) << "the symlink's target had its mode changed";
}

TEST(CreateTapeFileTest, DanglingSymlinkDoesNotCreateItsTarget) {
  TempDir dir;
  const std::string target = dir.File("created-through-link");
  const std::string path = dir.File("out.tape");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  auto fd = CreateTapeFile(path);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  ::close(*fd);
  struct stat st;
  EXPECT_NE(::lstat(target.c_str(), &st), 0) << "a file was created through the dangling symlink";
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST(CreateTapeFileTest, SymlinkToADirectoryIsReplacedNotFollowed) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  const std::string path = dir.File("out.tape");
  ASSERT_EQ(::symlink(sub.c_str(), path.c_str()), 0);
  auto fd = CreateTapeFile(path);
  if (fd.ok()) {
    ::close(*fd);
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
  }
  EXPECT_TRUE(ListDir(sub).empty()) << "nothing may be created inside the symlink's target directory";
}

TEST(CreateTapeFileTest, ExistingFileIsReplaced) {
  TempDir dir;
  const std::string path = dir.File("out.tape");
  WriteFileBytes(path, "an old, longer tape that must go");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto fd = CreateTapeFile(path);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  WriteAll(*fd, "new");
  ::close(*fd);
  EXPECT_EQ(ReadFileBytes(path), "new");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(CreateTapeFileTest, LeavesNoTemporaryFileBehind) {
  TempDir dir;
  auto fd = CreateTapeFile(dir.File("out.tape"));
  ASSERT_TRUE(fd.ok());
  ::close(*fd);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"out.tape"});
}

TEST(CreateTapeFileTest, DirectoryPathIsAnError) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  auto fd = CreateTapeFile(sub);
  EXPECT_FALSE(fd.ok());
  if (fd.ok()) ::close(*fd);
  struct stat st;
  ASSERT_EQ(::lstat(sub.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode)) << "the directory must be left alone";
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"sub"}) << "no temporary file left behind";

  auto fd2 = CreateTapeFile(dir.path() + "/");
  EXPECT_FALSE(fd2.ok());
  if (fd2.ok()) ::close(*fd2);
}

TEST(CreateTapeFileTest, MissingParentDirectoryIsAnIoError) {
  TempDir dir;
  auto fd = CreateTapeFile(dir.File("no/such/dir/out.tape"));
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), Status::Code::kIoError);
}

TEST(CreateTapeFileTest, EmptyPathIsInvalidArgument) {
  auto fd = CreateTapeFile("");
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), Status::Code::kInvalidArgument);
}

TEST(CreateTapeFileTest, RelativePathIsCreatedInTheWorkingDirectory) {
  TempDir dir;
  char old[4096];
  ASSERT_NE(::getcwd(old, sizeof(old)), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  auto fd = CreateTapeFile("rel.tape");
  int rc = ::chdir(old);
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  ::close(*fd);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"rel.tape"});
}

}  // namespace
}  // namespace tracetape::recorder
