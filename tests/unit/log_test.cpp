#include "common/log.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ringgate::log
