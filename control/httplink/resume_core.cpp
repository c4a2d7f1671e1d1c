#include "control/httplink/resume_core.h"

#include <charconv>

namespace ringgate::httplink {

namespace {

std::optional<uint64_t> number(std::string_view text) {
    if (text.empty() || text.size() > 19) return std::nullopt;  // 19 digits always fit
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<uint64_t> parseContentLength(std::string_view text) { return number(text); }

std::optional<ContentRange> parseContentRange(std::string_view text) {
    constexpr std::string_view kUnit = "bytes ";
    if (text.substr(0, kUnit.size()) != kUnit) return std::nullopt;
    text.remove_prefix(kUnit.size());
    size_t dash = text.find('-');
    size_t slash = text.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash)
        return std::nullopt;
    auto first = number(text.substr(0, dash));
    auto last = number(text.substr(dash + 1, slash - dash - 1));
    if (!first || !last || *first > *last) return std::nullopt;
    ContentRange range{*first, *last, std::nullopt};
    std::string_view complete = text.substr(slash + 1);
    if (complete != "*") {
        range.complete = number(complete);
        if (!range.complete || *last >= *range.complete) return std::nullopt;
    }
    return range;
}

Validator validatorOf(std::string_view etag, std::string_view lastModified) {
    // A strong entity tag is a quoted string; "W/" marks a weak one.
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
        return {Validator::Kind::StrongEtag, std::string(etag)};
    if (!lastModified.empty()) return {Validator::Kind::LastModified, std::string(lastModified)};
    return {};
}

std::string_view toString(NotResumable reason) {
    switch (reason) {
        case NotResumable::No: return "resumable";
        case NotResumable::Disabled: return "disabled";
        case NotResumable::Method: return "method";
        case NotResumable::Status: return "status";
        case NotResumable::NoLength: return "no_length";
        case NotResumable::NoValidator: return "no_validator";
        case NotResumable::ClientIfRange: return "client_if_range";
        case NotResumable::Empty: return "empty";
    }
    return "?";
}

std::string_view toString(AbortReason reason) {
    switch (reason) {
        case AbortReason::NotResumable: return "not_resumable";
        case AbortReason::Budget: return "budget";
        case AbortReason::NoBackend: return "no_backend";
        case AbortReason::ResumeFailed: return "resume_failed";
        case AbortReason::WrongStatus: return "wrong_status";
        case AbortReason::WrongRange: return "wrong_range";
        case AbortReason::ValidatorChanged: return "validator_changed";
    }
    return "?";
}

std::string_view toString(Failure failure) {
    switch (failure) {
        case Failure::Reset: return "reset";
        case Failure::EarlyEof: return "early_eof";
        case Failure::Stall: return "stall";
        case Failure::Connect: return "connect";
    }
    return "?";
}

Transfer::Transfer(bool resumeEnabled, uint32_t maxResumes, RequestFacts request)
    : enabled_(resumeEnabled), maxResumes_(maxResumes), request_(request) {}

NotResumable Transfer::onHead(const ResponseFacts& reply) {
    why_ = [&] {
        if (!enabled_) return NotResumable::Disabled;
        if (!request_.isGet) return NotResumable::Method;
        if (request_.hasIfRange) return NotResumable::ClientIfRange;
        if (reply.status == 200) {
            // A chunked body's Content-Length (if any) is not its length (RFC 9112 §6.3).
            if (reply.chunked || !reply.contentLength) return NotResumable::NoLength;
            if (*reply.contentLength == 0) return NotResumable::Empty;
            window_ = {0, *reply.contentLength - 1, reply.contentLength};
        } else if (reply.status == 206) {
            if (reply.multipart || !reply.contentRange) return NotResumable::Status;
            window_ = {reply.contentRange->first, reply.contentRange->last, reply.contentRange->complete};
        } else {
            return NotResumable::Status;
        }
        if (!reply.validator.usable()) return NotResumable::NoValidator;
        validator_ = reply.validator;
        return NotResumable::No;
    }();
    return why_;
}

Transfer::Decision Transfer::onFailure() {
    if (!resumable()) return {std::nullopt, AbortReason::NotResumable};
    if (resumes_ >= maxResumes_) return {std::nullopt, AbortReason::Budget};
    ++resumes_;
    ResumeRequest request;
    request.offset = window_.first + delivered_;
    request.range = "bytes=" + std::to_string(request.offset) + "-" + std::to_string(window_.last);
    request.ifRange = validator_.value;
    return {std::move(request), AbortReason::NotResumable};
}

std::optional<AbortReason> Transfer::onResumeHead(const ResponseFacts& reply) const {
    // If-Range makes a back end with another version answer 200 with the whole new
    // representation: that is the "validator changed" case seen from the status.
    if (reply.status != 206 || reply.multipart) return AbortReason::WrongStatus;
    if (!reply.contentRange) return AbortReason::WrongRange;
    const ContentRange& range = *reply.contentRange;
    if (range.first != window_.first + delivered_ || range.last != window_.last) return AbortReason::WrongRange;
    // A known total must stay the same; a back end that does not say ("*") cannot prove it.
    if (window_.complete && range.complete != window_.complete) return AbortReason::WrongRange;
    // A body longer than its Content-Range would run past the client's end.
    if (!reply.chunked && reply.contentLength != range.length()) return AbortReason::WrongRange;
    if (reply.validator != validator_) return AbortReason::ValidatorChanged;
    return std::nullopt;
}

}  // namespace ringgate::httplink
