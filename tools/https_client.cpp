#include "tools/https_client.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/asio.h"
#include "common/ipv4.h"

namespace ringgate::remote {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Expected<Target> parseUrl(const std::string& url) {
    const std::string scheme = "https://";
    if (url.rfind("http://", 0) == 0)
        return makeError("--host " + url + ": plain HTTP is refused; remote management speaks HTTPS only");
    if (url.rfind(scheme, 0) != 0) return makeError("--host " + url + ": expected https://HOST[:PORT]");
    std::string rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    Target target;
    size_t colon = rest.rfind(':');
    target.host = rest.substr(0, colon);
    if (colon != std::string::npos) target.port = rest.substr(colon + 1);
    if (target.host.empty() || target.host.find_first_of("/@[]") != std::string::npos ||
        target.port.empty() || target.port.find_first_not_of("0123456789") != std::string::npos ||
        target.port.size() > 5)
        return makeError("--host " + url + ": expected https://HOST[:PORT]");
    return target;
}

namespace {
std::string base64(const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
    int n = ::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                              reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}
}  // namespace

Expected<Answer> post(const Target& target, const std::string& caFile, const Credentials& credentials,
                      const std::string& path, const std::string& body, unsigned long timeoutMs) {
    const std::string where = "https://" + target.host + ":" + target.port;
    try {
        ssl::context tls(ssl::context::tls_client);
        tls.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        tls.set_verify_mode(ssl::verify_peer);
        boost::system::error_code ec;
        if (caFile.empty()) tls.set_default_verify_paths(ec);
        else tls.load_verify_file(caFile, ec);
        if (ec) return makeError("--ca-file " + caFile + ": " + ec.message());

        asio::io_context io;
        beast::ssl_stream<beast::tcp_stream> stream(io, tls);
        // The certificate must name what the URL names: its IP address, or its host name
        // (then also sent as SNI).
        X509_VERIFY_PARAM* param = ::SSL_get0_param(stream.native_handle());
        if (Ipv4Address::parse(target.host)) {
            ::X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str());
        } else {
            ::X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), 0);
            ::SSL_set_tlsext_host_name(stream.native_handle(), target.host.c_str());
        }
        auto deadline = std::chrono::milliseconds(timeoutMs);
        tcp::resolver resolver(io);
        auto endpoints = resolver.resolve(target.host, target.port);
        beast::get_lowest_layer(stream).expires_after(deadline);
        beast::get_lowest_layer(stream).connect(endpoints);
        stream.handshake(ssl::stream_base::client, ec);
        if (ec) {
            long verify = ::SSL_get_verify_result(stream.native_handle());
            std::string why = verify != X509_V_OK ? ::X509_verify_cert_error_string(verify) : ec.message();
            return makeError(where + ": TLS handshake failed: " + why +
                             (caFile.empty() ? " (name the CA with --ca-file)" : " (checked against " + caFile + ")"));
        }
        http::request<http::string_body> request{http::verb::post, path, 11};
        request.set(http::field::host, target.host);
        request.set(http::field::user_agent, "ringgatectl");
        request.set(http::field::content_type, "application/json");
        request.set(http::field::authorization, "Basic " + base64(credentials.user + ":" + credentials.password));
        request.body() = body;
        request.prepare_payload();
        http::write(stream, request);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        http::read(stream, buffer, parser);
        Answer answer{static_cast<int>(parser.get().result_int()), parser.get().body()};
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
        stream.shutdown(ec);  // the server may just close; the answer is complete anyway
        return answer;
    } catch (const boost::system::system_error& e) {
        return makeError("cannot reach " + where + ": " + e.code().message());
    }
}

}  // namespace ringgate::remote
