// The Highly Available Internet Link (WO 00/62502 §5, Fig. 18), sans-I/O: what the
// proxy may do when the back end serving a download fails in the middle of the body.
//
// The gateway keeps the request, counts the body bytes it has passed to the client, and
// on a failure asks another back end for the rest with `Range: bytes=N-` and `If-Range`.
// This core decides, from parsed header facts only (no sockets, no clock of its own):
//   - whether a reply may be resumed at all (GET; a length; a validator);
//   - the absolute window of the representation the client's body covers (a plain 200
//     covers 0..length-1; a 206 to the client's own Range covers its Content-Range), so a
//     resume composes with the client's Range for free;
//   - the Range/If-Range of each resume request, and whether its reply may be spliced:
//     only a 206 whose Content-Range starts exactly at N, ends where the window ends,
//     names the same total, and carries the same validator;
//   - the resume budget (a number of resumes per transfer).
// Anything the core refuses ends the client's connection short: the client sees a
// truncated body (curl: "transfer closed with N bytes remaining"), never other bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringgate::httplink {

// A Content-Range of a 206: bytes first-last/complete ("*" for an unknown complete length).
struct ContentRange {
    uint64_t first = 0;
    uint64_t last = 0;
    std::optional<uint64_t> complete;
    uint64_t length() const { return last - first + 1; }
    friend bool operator==(const ContentRange&, const ContentRange&) = default;
};

// "bytes 0-99/1000" or "bytes 0-99/*"; nullopt for anything else (unsatisfied ranges,
// other units, garbage, first > last, last >= complete).
std::optional<ContentRange> parseContentRange(std::string_view text);

// Decimal Content-Length without sign or spaces; nullopt if not one number.
std::optional<uint64_t> parseContentLength(std::string_view text);

// What identifies the representation across back ends. A strong ETag wins; without one,
// Last-Modified (RFC 9110 §13.1.5 allows it in If-Range). A weak ETag alone is no
// validator: If-Range must not use it.
struct Validator {
    enum class Kind { None, StrongEtag, LastModified };
    Kind kind = Kind::None;
    std::string value;  // the header's text as the back end sent it
    bool usable() const { return kind != Kind::None; }
    friend bool operator==(const Validator&, const Validator&) = default;
};

Validator validatorOf(std::string_view etag, std::string_view lastModified);

// The facts of a request the core needs.
struct RequestFacts {
    bool isGet = false;
    bool hasRange = false;    // the client sent its own Range
    bool hasIfRange = false;  // ... and its own If-Range (it then decides what it accepts)
};

// The facts of a reply head (first back end, or a resume's).
struct ResponseFacts {
    unsigned status = 0;
    std::optional<uint64_t> contentLength;    // absent, or not a single number
    bool chunked = false;                     // Transfer-Encoding ends in chunked
    std::optional<ContentRange> contentRange; // parsed Content-Range (206)
    bool multipart = false;                   // multipart/byteranges (several ranges)
    Validator validator;
};

// Why a reply is passed on without the safety net (counted per reason).
enum class NotResumable {
    No = 0,          // resumable
    Disabled,        // the service has resume: false
    Method,          // not GET
    Status,          // neither 200 nor a single-range 206
    NoLength,        // chunked or close-delimited: the end is unknown
    NoValidator,     // no strong ETag and no Last-Modified
    ClientIfRange,   // the client sent If-Range; a resume cannot honour both
    Empty,           // nothing to resume (zero-length body)
};
std::string_view toString(NotResumable reason);

// Why a transfer ended short (counted per reason).
enum class AbortReason {
    NotResumable = 0,   // a failure on a transfer that had no safety net
    Budget,             // more failures than max_resumes
    NoBackend,          // no live back end left to ask
    ResumeFailed,       // the resume's back end failed before its reply head
    WrongStatus,        // a resume answered with something other than 206 (e.g. 200)
    WrongRange,         // 206 for another range or total length
    ValidatorChanged,   // 206 of another version of the representation
};
std::string_view toString(AbortReason reason);

// How the back end let the transfer down (for counters; every kind is resumable).
enum class Failure { Reset, EarlyEof, Stall, Connect };
std::string_view toString(Failure failure);

// The absolute byte window [first, last] of the representation that the client's body
// carries, and the total length when known.
struct Window {
    uint64_t first = 0;
    uint64_t last = 0;
    std::optional<uint64_t> complete;
    uint64_t length() const { return last - first + 1; }
};

// A resume request to send: header values for Range and If-Range.
struct ResumeRequest {
    uint64_t offset = 0;  // absolute first byte asked for
    std::string range;    // "bytes=N-L"
    std::string ifRange;  // the validator's text
};

// One proxied reply, from the first back end's head to its last body byte.
class Transfer {
public:
    Transfer(bool resumeEnabled, uint32_t maxResumes, RequestFacts request);

    // The first back end's reply head. Returns why the transfer has no safety net, or
    // NotResumable::No when it may be resumed.
    NotResumable onHead(const ResponseFacts& reply);

    // Body bytes passed to the client.
    void onBody(uint64_t bytes) { delivered_ += bytes; }

    // The serving back end failed before the body ended. Either the resume request to
    // send to another back end, or why the client's connection must end now.
    struct Decision {
        std::optional<ResumeRequest> resume;
        AbortReason abort = AbortReason::NotResumable;
    };
    Decision onFailure();

    // The resume's back end could not be reached or failed before its head (counts as
    // one more failure of the budget).
    Decision onResumeFailure() { return onFailure(); }

    // The head of a resume's reply: nullopt when its body may continue the client's.
    std::optional<AbortReason> onResumeHead(const ResponseFacts& reply) const;

    bool resumable() const { return why_ == NotResumable::No; }
    NotResumable notResumableReason() const { return why_; }
    bool complete() const { return resumable() && delivered_ >= window_.length(); }
    uint64_t delivered() const { return delivered_; }
    uint64_t remaining() const { return resumable() ? window_.length() - delivered_ : 0; }
    uint32_t resumes() const { return resumes_; }
    const Window& window() const { return window_; }
    const Validator& validator() const { return validator_; }

private:
    bool enabled_;
    uint32_t maxResumes_;
    RequestFacts request_;
    NotResumable why_ = NotResumable::Disabled;
    Window window_;
    Validator validator_;
    uint64_t delivered_ = 0;
    uint32_t resumes_ = 0;
};

}  // namespace ringgate::httplink
