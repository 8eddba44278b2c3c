// Client authentication and authorisation for signerd: bearer tokens loaded
// from a file, and per-identity method allow-lists.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teesigner::signerd {

/// Bearer tokens from a file of `name:token` lines. Blank lines and lines
/// starting with '#' are ignored. Names are 1..64 characters of [A-Za-z0-9._@-];
/// tokens are at least kMinTokenLength printable non-space ASCII characters.
/// Only SHA-256 digests of the tokens are kept in memory, and a presented
/// token is compared against every entry in constant time.
class TokenStore {
  public:
    static constexpr size_t kMinTokenLength = 16;

    /// Parse the file. Throws ConfigError (errors.hpp) naming the file and line on
    /// any malformed line, duplicate name or duplicate token (never quoting a
    /// token). `warnings` receives non-fatal findings (e.g. file readable by
    /// group or others).
    static TokenStore load_file(const std::string& path,
                                std::vector<std::string>* warnings = nullptr);
    /// Same from text (for tests); `origin` names the source in messages.
    static TokenStore parse(std::string_view text, const std::string& origin = "tokens");

    /// The identity (name) the token belongs to, or nullopt.
    std::optional<std::string> authenticate(std::string_view token) const;

    size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

  private:
    struct Entry {
        std::string name;
        std::array<uint8_t, 32> digest;
    };
    std::vector<Entry> entries_;
};

/// Extract the token from an `Authorization: Bearer <token>` header value
/// (scheme case-insensitive). nullopt when the value is not a bearer credential.
std::optional<std::string_view> parse_bearer(std::string_view header_value);

/// Methods that can weaken slashing protection (relax the opaque-signing
/// policy, merge foreign history): signer_setProtectionPolicy and
/// signer_importProtection.
bool is_sensitive_method(std::string_view method);

/// Per-identity method allow-lists. A pattern is a method name, "*" (any
/// method) or a prefix ending in '*' ("keystore_*"). The identity "*" is the
/// fallback for identities without an entry. With no entries at all, every
/// authenticated client may call every method, except that sensitive methods
/// (is_sensitive_method) are then open to "local" only. A bare "*" pattern
/// never grants a sensitive method: it must be named or matched by a prefix.
class AccessList {
  public:
    void allow(const std::string& identity, std::vector<std::string> patterns);
    bool allowed(std::string_view method, const std::string& identity) const;
    bool empty() const { return rules_.empty(); }
    const std::map<std::string, std::vector<std::string>>& rules() const { return rules_; }

  private:
    std::map<std::string, std::vector<std::string>> rules_;
};

/// Whether `pattern` (see AccessList) matches `method`.
bool method_matches(std::string_view pattern, std::string_view method);

}  // namespace teesigner::signerd
