#include "common/log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace ringgate::log {
namespace {

TEST(Log, SpecSetsLevelsPerCategory) {
    setAllLevels(Level::Info);
    ASSERT_TRUE(applySpec("warn,cluster=debug"));
    EXPECT_EQ(level(Category::Cluster), Level::Debug);
    EXPECT_EQ(level(Category::Vip), Level::Warn);
    EXPECT_TRUE(enabled(Category::Cluster, Level::Debug));
    EXPECT_FALSE(enabled(Category::Vip, Level::Info));
}

TEST(Log, BadSpecChangesNothing) {
    setAllLevels(Level::Info);
    EXPECT_FALSE(applySpec("cluster=debug,nosuch=info"));
    EXPECT_FALSE(applySpec("loud"));
    EXPECT_FALSE(applySpec("vip=loud"));
    EXPECT_EQ(level(Category::Cluster), Level::Info);
}

TEST(Log, NamesRoundTrip) {
    for (int i = 0; i < static_cast<int>(Category::Count_); ++i) {
        auto c = static_cast<Category>(i);
        EXPECT_EQ(parseCategory(categoryName(c)), c);
    }
    EXPECT_EQ(parseLevel("error"), Level::Error);
    EXPECT_FALSE(parseLevel("fatal"));
}

// Under systemd, stderr is the journal's stream: every line carries its priority, so
// `journalctl -p warning` shows warnings and errors.
TEST(Log, JournalPrioritiesWhenStderrIsTheJournalStream) {
    char path[] = "/tmp/rg-log-test-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    int saved = ::dup(2);
    ::dup2(fd, 2);
    struct stat st {};
    ::fstat(fd, &st);
    std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    setAllLevels(Level::Info);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    bool detected = detectJournal();
    RG_WARN(Cluster, "node %u lost", 4u);
    RG_INFO(Cluster, "joined");
    ::setenv("JOURNAL_STREAM", "1:2", 1);  // another stream: stderr was redirected
    bool other = detectJournal();
    RG_WARN(Cluster, "plain");
    ::unsetenv("JOURNAL_STREAM");
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    ::close(fd);
    detectJournal();
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ::unlink(path);
    EXPECT_TRUE(detected);
    EXPECT_FALSE(other);
    std::vector<std::string> lines;
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), 3u) << text.str();
    EXPECT_EQ(lines[0].rfind("<4>", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("cluster warn: node 4 lost"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[1].rfind("<6>", 0), 0u) << lines[1];
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(lines[2][0]))) << lines[2];  // no prefix
}

}  // namespace
}  // namespace ringgate::log
