#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "errors.hpp"

namespace teesigner::signerd {
namespace {

std::array<uint8_t, 32> sha256(std::string_view data) {
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size())
        throw InternalError("SHA-256 failed");
    return out;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_token(std::string_view token) {
    if (token.size() < TokenStore::kMinTokenLength || token.size() > 4096) return false;
    for (char c : token) {
        if (c <= ' ' || c > '~') return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

TokenStore TokenStore::parse(std::string_view text, const std::string& origin) {
    TokenStore store;
    size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        const std::string where = origin + ":" + std::to_string(line_no);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) throw ConfigError(where + ": expected name:token");
        const std::string_view name = trim(line.substr(0, colon));
        const std::string_view token = trim(line.substr(colon + 1));
        if (!valid_name(name))
            throw ConfigError(where + ": token name must be 1-64 characters of [A-Za-z0-9._@-]");
        if (!valid_token(token))
            throw ConfigError(where + ": token for \"" + std::string(name) +
                              "\" must be at least " + std::to_string(kMinTokenLength) +
                              " printable ASCII characters without spaces");
        Entry entry{std::string(name), sha256(token)};
        for (const auto& other : store.entries_) {
            if (other.name == entry.name)
                throw ConfigError(where + ": duplicate token name \"" + entry.name + "\"");
            if (CRYPTO_memcmp(other.digest.data(), entry.digest.data(), entry.digest.size()) == 0)
                throw ConfigError(where + ": token of \"" + entry.name +
                                  "\" is the same as the token of \"" + other.name + "\"");
        }
        store.entries_.push_back(std::move(entry));
    }
    return store;
}

TokenStore TokenStore::load_file(const std::string& path, std::vector<std::string>* warnings) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read tokens file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    struct stat st {};
    if (warnings && ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        warnings->push_back("tokens file " + path +
                            " is accessible by group or others; chmod 600 it");
    TokenStore store = parse(text.str(), path);
    // The file's text held the tokens; do not leave them in freed memory.
    std::string s = text.str();
    OPENSSL_cleanse(s.data(), s.size());
    return store;
}

std::optional<std::string> TokenStore::authenticate(std::string_view token) const {
    const auto digest = sha256(token);
    const Entry* match = nullptr;
    // Compare against every entry so that timing reveals neither which entry
    // matched nor how long a matching prefix was.
    for (const auto& entry : entries_) {
        const bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
        if (equal && match == nullptr) match = &entry;
    }
    if (match == nullptr) return std::nullopt;
    return match->name;
}

std::optional<std::string_view> parse_bearer(std::string_view value) {
    value = trim(value);
    constexpr std::string_view kScheme = "bearer";
    if (value.size() <= kScheme.size()) return std::nullopt;
    for (size_t i = 0; i < kScheme.size(); ++i) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kScheme[i]) return std::nullopt;
    }
    if (value[kScheme.size()] != ' ') return std::nullopt;
    std::string_view token = trim(value.substr(kScheme.size() + 1));
    if (token.empty()) return std::nullopt;
    return token;
}

bool method_matches(std::string_view pattern, std::string_view method) {
    if (pattern == "*") return true;
    if (!pattern.empty() && pattern.back() == '*') {
        pattern.remove_suffix(1);
        return method.substr(0, pattern.size()) == pattern;
    }
    return pattern == method;
}

void AccessList::allow(const std::string& identity, std::vector<std::string> patterns) {
    auto& list = rules_[identity];
    for (auto& p : patterns) list.push_back(std::move(p));
}

bool is_sensitive_method(std::string_view method) {
    return method == "signer_setProtectionPolicy" || method == "signer_importProtection" ||
           method == "signer_retireKeys";
}

bool AccessList::allowed(std::string_view method, const std::string& identity) const {
    const bool sensitive = is_sensitive_method(method);
    if (rules_.empty()) return !sensitive || identity == "local";
    auto it = rules_.find(identity);
    if (it == rules_.end()) it = rules_.find("*");
    if (it == rules_.end()) return false;
    for (const auto& pattern : it->second) {
        if (sensitive && pattern == "*") continue;
        if (method_matches(pattern, method)) return true;
    }
    return false;
}

}  // namespace teesigner::signerd
