// The resume core, table-driven: which replies get the safety net, the Range and
// If-Range of each resume, which resume replies may be spliced, and the budget.
#include "control/httplink/resume_core.h"

#include <gtest/gtest.h>

namespace ringgate::httplink {
namespace {

const Validator kEtag{Validator::Kind::StrongEtag, "\"5f1-2000\""};
const Validator kOtherEtag{Validator::Kind::StrongEtag, "\"6a2-2000\""};
const Validator kDate{Validator::Kind::LastModified, "Wed, 02 Dec 2026 00:00:00 GMT"};

ResponseFacts ok200(uint64_t length, Validator validator = kEtag) {
    ResponseFacts reply;
    reply.status = 200;
    reply.contentLength = length;
    reply.validator = validator;
    return reply;
}

ResponseFacts partial(uint64_t first, uint64_t last, std::optional<uint64_t> complete,
                      Validator validator = kEtag) {
    ResponseFacts reply;
    reply.status = 206;
    reply.contentLength = last - first + 1;
    reply.contentRange = ContentRange{first, last, complete};
    reply.validator = validator;
    return reply;
}

TEST(ContentRangeParse, Table) {
    struct Case {
        const char* text;
        std::optional<ContentRange> expected;
    } cases[] = {
        {"bytes 0-99/1000", ContentRange{0, 99, 1000}},
        {"bytes 500-999/1000", ContentRange{500, 999, 1000}},
        {"bytes 7-7/*", ContentRange{7, 7, std::nullopt}},
        {"bytes 0-999/1000", ContentRange{0, 999, 1000}},
        {"bytes 0-1000/1000", std::nullopt},  // last past the end
        {"bytes 9-3/10", std::nullopt},       // first after last
        {"bytes */1000", std::nullopt},       // unsatisfied-range form
        {"items 0-9/10", std::nullopt},       // other unit
        {"bytes 0-9", std::nullopt},
        {"bytes -1-9/10", std::nullopt},
        {"bytes 0-9/1x", std::nullopt},
        {"bytes 0-99999999999999999999/1", std::nullopt},  // overflow
        {"", std::nullopt},
    };
    for (const Case& c : cases) EXPECT_EQ(parseContentRange(c.text), c.expected) << c.text;
}

TEST(ContentLengthParse, Table) {
    EXPECT_EQ(parseContentLength("0"), 0u);
    EXPECT_EQ(parseContentLength("209715200"), 209715200u);
    EXPECT_EQ(parseContentLength(""), std::nullopt);
    EXPECT_EQ(parseContentLength("12, 12"), std::nullopt);
    EXPECT_EQ(parseContentLength("-1"), std::nullopt);
    EXPECT_EQ(parseContentLength(" 5"), std::nullopt);
    EXPECT_EQ(parseContentLength("99999999999999999999"), std::nullopt);
}

TEST(ValidatorOf, StrongEtagThenLastModifiedNeverWeak) {
    EXPECT_EQ(validatorOf("\"abc\"", "Tue, 01 Dec 2026 10:00:00 GMT").kind, Validator::Kind::StrongEtag);
    EXPECT_EQ(validatorOf("W/\"abc\"", "Tue, 01 Dec 2026 10:00:00 GMT").kind, Validator::Kind::LastModified);
    EXPECT_FALSE(validatorOf("W/\"abc\"", "").usable());
    EXPECT_FALSE(validatorOf("", "").usable());
    EXPECT_FALSE(validatorOf("abc", "").usable()) << "an unquoted tag is malformed";
}

TEST(TransferHead, WhichRepliesAreResumable) {
    ResponseFacts chunked = ok200(1000);
    chunked.contentLength.reset();
    chunked.chunked = true;
    ResponseFacts chunkedWithLength = ok200(1000);
    chunkedWithLength.chunked = true;
    ResponseFacts closeDelimited = ok200(1000);
    closeDelimited.contentLength.reset();
    ResponseFacts multipart = partial(0, 9, 100);
    multipart.contentRange.reset();
    multipart.multipart = true;
    ResponseFacts notModified;
    notModified.status = 304;
    notModified.validator = kEtag;
    ResponseFacts weakOnly = ok200(1000, Validator{});

    struct Case {
        const char* name;
        bool enabled;
        RequestFacts request;
        ResponseFacts reply;
        NotResumable expected;
    } cases[] = {
        {"200 with length and ETag", true, {true, false, false}, ok200(1000), NotResumable::No},
        {"200 with Last-Modified only", true, {true, false, false}, ok200(1000, kDate), NotResumable::No},
        {"206 to the client's range", true, {true, true, false}, partial(100, 199, 1000), NotResumable::No},
        {"resume disabled", false, {true, false, false}, ok200(1000), NotResumable::Disabled},
        {"HEAD", true, {false, false, false}, ok200(1000), NotResumable::Method},
        {"client's own If-Range", true, {true, true, true}, partial(0, 9, 100), NotResumable::ClientIfRange},
        {"chunked", true, {true, false, false}, chunked, NotResumable::NoLength},
        {"chunked with a Content-Length too", true, {true, false, false}, chunkedWithLength, NotResumable::NoLength},
        {"close-delimited", true, {true, false, false}, closeDelimited, NotResumable::NoLength},
        {"multipart 206", true, {true, true, false}, multipart, NotResumable::Status},
        {"304", true, {true, false, false}, notModified, NotResumable::Status},
        {"no validator", true, {true, false, false}, weakOnly, NotResumable::NoValidator},
        {"empty body", true, {true, false, false}, ok200(0), NotResumable::Empty},
    };
    for (const Case& c : cases) {
        Transfer transfer(c.enabled, 3, c.request);
        EXPECT_EQ(transfer.onHead(c.reply), c.expected) << c.name;
        EXPECT_EQ(transfer.resumable(), c.expected == NotResumable::No) << c.name;
    }
}

TEST(TransferResume, RangeComposesWithWhatTheClientHasAndItsOwnRange) {
    struct Case {
        const char* name;
        ResponseFacts first;
        uint64_t delivered;
        const char* range;
        uint64_t offset;
    } cases[] = {
        {"whole file, nothing sent", ok200(1000), 0, "bytes=0-999", 0},
        {"whole file, part sent", ok200(1000), 400, "bytes=400-999", 400},
        {"whole file, all but one byte", ok200(1000), 999, "bytes=999-999", 999},
        {"client asked 100-199, 50 sent", partial(100, 199, 1000), 50, "bytes=150-199", 150},
        {"client asked a suffix (last 10 of 1000)", partial(990, 999, 1000), 3, "bytes=993-999", 993},
        {"unknown total", partial(0, 99, std::nullopt), 10, "bytes=10-99", 10},
    };
    for (const Case& c : cases) {
        Transfer transfer(true, 3, {true, c.first.status == 206, false});
        ASSERT_EQ(transfer.onHead(c.first), NotResumable::No) << c.name;
        transfer.onBody(c.delivered);
        auto decision = transfer.onFailure();
        ASSERT_TRUE(decision.resume) << c.name;
        EXPECT_EQ(decision.resume->range, c.range) << c.name;
        EXPECT_EQ(decision.resume->offset, c.offset) << c.name;
        EXPECT_EQ(decision.resume->ifRange, kEtag.value) << c.name;
    }
}

TEST(TransferResume, WhichResumeRepliesMaySplice) {
    ResponseFacts chunked206 = partial(400, 999, 1000);
    chunked206.chunked = true;  // the length comes from Content-Range either way
    ResponseFacts multipart = partial(400, 999, 1000);
    multipart.multipart = true;
    ResponseFacts overlong = partial(400, 999, 1000);
    overlong.contentLength = 1000;  // more body than the range it names
    ResponseFacts noLength = partial(400, 999, 1000);
    noLength.contentLength.reset();  // close-delimited 206: its end is unknown
    struct Case {
        const char* name;
        ResponseFacts reply;
        std::optional<AbortReason> expected;
    } cases[] = {
        {"the rest, same ETag", partial(400, 999, 1000), std::nullopt},
        {"the rest, chunked framing", chunked206, std::nullopt},
        {"200: the server ignored Range or If-Range failed", ok200(1000), AbortReason::WrongStatus},
        {"200 of another version", ok200(1000, kOtherEtag), AbortReason::WrongStatus},
        {"multipart", multipart, AbortReason::WrongStatus},
        {"starts elsewhere", partial(0, 999, 1000), AbortReason::WrongRange},
        {"ends early", partial(400, 899, 1000), AbortReason::WrongRange},
        {"other total", partial(400, 999, 2000), AbortReason::WrongRange},
        {"total withheld", partial(400, 999, std::nullopt), AbortReason::WrongRange},
        {"another ETag", partial(400, 999, 1000, kOtherEtag), AbortReason::ValidatorChanged},
        {"Content-Length longer than the range", overlong, AbortReason::WrongRange},
        {"no Content-Length, not chunked", noLength, AbortReason::WrongRange},
        {"Last-Modified instead of the ETag", partial(400, 999, 1000, kDate), AbortReason::ValidatorChanged},
    };
    for (const Case& c : cases) {
        Transfer transfer(true, 3, {true, false, false});
        ASSERT_EQ(transfer.onHead(ok200(1000)), NotResumable::No);
        transfer.onBody(400);
        ASSERT_TRUE(transfer.onFailure().resume);
        EXPECT_EQ(transfer.onResumeHead(c.reply), c.expected) << c.name;
    }
}

TEST(TransferResume, MissingContentRangeIsWrongRange) {
    Transfer transfer(true, 3, {true, false, false});
    ASSERT_EQ(transfer.onHead(ok200(1000)), NotResumable::No);
    ResponseFacts reply = partial(0, 999, 1000);
    reply.contentRange.reset();
    EXPECT_EQ(transfer.onResumeHead(reply), AbortReason::WrongRange);
}

TEST(TransferResume, BudgetCountsEveryFailureIncludingFailedResumes) {
    Transfer transfer(true, 2, {true, false, false});
    ASSERT_EQ(transfer.onHead(ok200(1000)), NotResumable::No);
    transfer.onBody(100);
    auto first = transfer.onFailure();
    ASSERT_TRUE(first.resume);
    EXPECT_EQ(first.resume->range, "bytes=100-999");
    auto second = transfer.onResumeFailure();  // the resume's back end was dead too
    ASSERT_TRUE(second.resume);
    EXPECT_EQ(second.resume->range, "bytes=100-999") << "nothing more reached the client";
    auto third = transfer.onFailure();
    EXPECT_FALSE(third.resume);
    EXPECT_EQ(third.abort, AbortReason::Budget);
    EXPECT_EQ(transfer.resumes(), 2u);
}

TEST(TransferResume, ZeroBudgetMeansNoResume) {
    Transfer transfer(true, 0, {true, false, false});
    ASSERT_EQ(transfer.onHead(ok200(1000)), NotResumable::No);
    auto decision = transfer.onFailure();
    EXPECT_FALSE(decision.resume);
    EXPECT_EQ(decision.abort, AbortReason::Budget);
}

TEST(TransferResume, NotResumableFailureEndsTheClientConnection) {
    Transfer transfer(true, 3, {false, false, false});  // HEAD
    ASSERT_EQ(transfer.onHead(ok200(1000)), NotResumable::Method);
    auto decision = transfer.onFailure();
    EXPECT_FALSE(decision.resume);
    EXPECT_EQ(decision.abort, AbortReason::NotResumable);
}

TEST(TransferProgress, CompleteWhenTheWindowIsDelivered) {
    Transfer transfer(true, 3, {true, true, false});
    ASSERT_EQ(transfer.onHead(partial(100, 199, 1000)), NotResumable::No);
    EXPECT_EQ(transfer.remaining(), 100u);
    transfer.onBody(60);
    EXPECT_FALSE(transfer.complete());
    auto decision = transfer.onFailure();
    ASSERT_TRUE(decision.resume);
    ASSERT_FALSE(transfer.onResumeHead(partial(160, 199, 1000)));
    transfer.onBody(40);
    EXPECT_TRUE(transfer.complete());
    EXPECT_EQ(transfer.remaining(), 0u);
}

}  // namespace
}  // namespace ringgate::httplink
