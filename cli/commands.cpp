// Implementation of tee-signer's key commands. Output formats follow subkey
// (polkadot-sdk substrate/client/cli/src/commands/utils.rs): the same labels,
// alignment and JSON field names, so scripts written against subkey keep working.
#include "commands.hpp"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <variant>

#include "teesigner/core/bip39.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/sr25519.hpp"
#include "teesigner/core/ss58.hpp"
#include "teesigner/core/suri.hpp"

namespace teesigner::cli {
namespace {

namespace core = teesigner::core;
using json = nlohmann::json;

// ---------------------------------------------------------------------------
// Secrets held by the CLI: wiped when done (best effort; the strings CLI11
// parsed from argv are outside our control).

class SecretString {
  public:
    SecretString() = default;
    explicit SecretString(std::string s) : s_(std::move(s)) {}
    SecretString(const SecretString&) = delete;
    SecretString& operator=(const SecretString&) = delete;
    SecretString(SecretString&& o) noexcept : s_(std::move(o.s_)) { o.wipe(); }
    SecretString& operator=(SecretString&& o) noexcept {
        wipe();
        s_ = std::move(o.s_);
        o.wipe();
        return *this;
    }
    ~SecretString() { wipe(); }
    const std::string& str() const noexcept { return s_; }
    std::string_view view() const noexcept { return s_; }

  private:
    void wipe() noexcept {
        if (!s_.empty()) sodium_memzero(s_.data(), s_.size());
        s_.clear();
    }
    std::string s_;
};

// ---------------------------------------------------------------------------
// Flag values

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

core::Scheme parse_scheme(const std::string& name) {
    if (auto s = core::scheme_from_name(lower(name))) return *s;
    throw CliError("unknown scheme '" + name + "' (expected sr25519, ed25519 or ecdsa)");
}

struct Network {
    uint16_t prefix = core::kSs58Substrate;
    bool given = false;  // --network was on the command line
};

Network parse_network(const std::optional<std::string>& name) {
    if (!name) return {};
    if (auto p = core::ss58_prefix_from_network(lower(*name))) return {*p, true};
    // subkey also accepts a bare prefix number.
    if (!name->empty() && name->size() <= 5 &&
        std::all_of(name->begin(), name->end(), [](unsigned char c) { return std::isdigit(c); })) {
        const unsigned long v = std::stoul(*name);
        if (v <= core::kSs58MaxPrefix) return {static_cast<uint16_t>(v), true};
    }
    throw CliError("unknown network '" + *name +
                   "' (expected kusama, polkadot, substrate or a prefix 0-16383)");
}

// What subkey prints as "Network ID": the registry name for the networks we know.
std::string network_name(uint16_t prefix) {
    switch (prefix) {
        case core::kSs58Polkadot:
            return "polkadot";
        case core::kSs58Kusama:
            return "kusama";
        case core::kSs58Substrate:
            return "substrate";
        default:
            return std::to_string(prefix);
    }
}

bool parse_output_json(const std::string& type) {
    const std::string t = lower(type);
    if (t == "text") return false;
    if (t == "json") return true;
    throw CliError("unknown output type '" + type + "' (expected text or json)");
}

// ---------------------------------------------------------------------------
// Input

std::string trim_end(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CliError("cannot read file '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string read_all_stdin() {
    std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (std::cin.bad()) throw CliError("cannot read standard input");
    return data;
}

// One line from the terminal without echo (for secrets typed at a prompt).
std::string prompt_hidden(const char* prompt) {
    std::fputs(prompt, stderr);
    std::fflush(stderr);
    termios old_tio{};
    const bool tty = tcgetattr(STDIN_FILENO, &old_tio) == 0;
    if (tty) {
        termios no_echo = old_tio;
        no_echo.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &no_echo);
    }
    std::string line;
    std::getline(std::cin, line);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old_tio);
        std::fputs("\n", stderr);
    }
    return line;
}

// subkey's read_uri: a value naming a file means the file's content (trailing
// whitespace removed); no value means a prompt (or all of stdin when it is not a
// terminal).
SecretString read_uri(const std::optional<std::string>& value) {
    if (value) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(*value, ec))
            return SecretString(trim_end(read_file(*value)));
        return SecretString(*value);
    }
    if (isatty(STDIN_FILENO)) return SecretString(trim_end(prompt_hidden("URI: ")));
    return SecretString(trim_end(read_all_stdin()));
}

// --password / --password-filename (the file content is used as is, like subkey).
std::optional<SecretString> read_password(const CommonOptions& common) {
    if (common.password && common.password_filename)
        throw CliError("--password and --password-filename are mutually exclusive");
    if (common.password) return SecretString(*common.password);
    if (common.password_filename) return SecretString(read_file(*common.password_filename));
    return std::nullopt;
}

// The message for sign/verify: --message or all of stdin; --hex decodes it
// (optional 0x; surrounding whitespace, such as echo's newline, is ignored).
core::Bytes read_message(const std::optional<std::string>& message, bool hex) {
    std::string raw = message ? *message : read_all_stdin();
    if (!hex) return core::Bytes(raw.begin(), raw.end());
    const auto first = raw.find_first_not_of(" \t\r\n");
    raw = first == std::string::npos ? std::string() : trim_end(raw.substr(first));
    auto bytes = core::from_hex(raw);
    if (!bytes) throw CliError("the message is not valid hex (--hex was given)");
    return std::move(*bytes);
}

// ---------------------------------------------------------------------------
// Error wording

std::string describe_secret_error(core::Error e, core::Scheme scheme) {
    switch (e) {
        case core::Error::invalid_uri:
            return "malformed secret URI (expected <phrase|0x seed>[//hard][/soft][///password])";
        case core::Error::invalid_mnemonic:
            return "invalid secret phrase: unknown word or a word count other than "
                   "12/15/18/21/24";
        case core::Error::invalid_checksum:
            return "invalid secret phrase: wrong checksum";
        case core::Error::invalid_encoding:
            return "invalid secret seed: not valid hex";
        case core::Error::invalid_length:
            return "invalid secret seed: must be 32 bytes (64 hex digits)";
        case core::Error::unsupported:
            return std::string("soft derivation (/junction) is not supported for ") +
                   core::scheme_name(scheme) + "; use hard derivation (//junction)";
        case core::Error::crypto_failure:
            return std::string("the seed is not a valid ") + core::scheme_name(scheme) +
                   " secret key";
        default:
            return core::error_message(e);
    }
}

std::string describe_ss58_error(core::Error e) {
    switch (e) {
        case core::Error::invalid_checksum:
            return "invalid SS58 address: wrong checksum";
        case core::Error::invalid_length:
            return "invalid SS58 address: wrong length for this scheme";
        case core::Error::invalid_encoding:
            return "invalid SS58 address: not valid base58 or bad prefix";
        default:
            return std::string("invalid SS58 address: ") + core::error_message(e);
    }
}

// ---------------------------------------------------------------------------
// Public URIs: an SS58 address, optionally with soft junctions (sr25519), as
// sp-core Ss58Codec::from_string_with_version reads it.

struct PublicFromUri {
    core::Bytes key;
    uint16_t prefix = 0;
};

// Returns the key or an error message.
std::variant<PublicFromUri, std::string> public_from_uri(core::Scheme scheme,
                                                         std::string_view uri) {
    auto parsed = core::parse_secret_uri(uri);
    if (!parsed) return std::string("malformed public key URI");
    if (parsed->password) return std::string("a public key URI cannot carry a password");
    const std::string_view address(reinterpret_cast<const char*>(parsed->phrase.data()),
                                   parsed->phrase.size());
    auto decoded = core::ss58_decode(address, core::public_key_size(scheme));
    if (!decoded) return describe_ss58_error(decoded.error());
    PublicFromUri out{std::move(decoded->key), decoded->prefix};
    for (const auto& j : parsed->junctions) {
        if (scheme != core::Scheme::sr25519 || j.hard)
            return std::string("a public key can only be derived with soft junctions (sr25519)");
        auto next = core::sr25519::derive_soft_public(out.key, j.chain_code);
        if (!next) return std::string("the SS58 address is not a valid sr25519 public key");
        out.key.assign(next->begin(), next->end());
    }
    return out;
}

// Does the failed URI look like an address rather than a secret? Used only to
// choose which of the two failures to report.
bool looks_like_address(std::string_view uri) {
    const std::string_view head = uri.substr(0, uri.find('/'));
    return head.size() >= 40 && head.find(' ') == std::string_view::npos &&
           head.substr(0, 2) != "0x";
}

// ---------------------------------------------------------------------------
// Output (subkey utils.rs print_from_uri / print_from_public)

enum class Source { phrase, secret_uri, public_uri, public_hex };

struct KeyReport {
    Source source;
    std::string uri;                  // the phrase or URI as given (not for public_hex)
    std::optional<std::string> seed;  // secret sources only; "n/a" when unknown
    core::Scheme scheme;
    core::Bytes public_key;
    uint16_t prefix;
};

std::string ss58(core::ByteSpan key, uint16_t prefix) {
    auto s = core::ss58_encode(key, prefix);
    if (!s) throw CliError("cannot encode SS58 address with prefix " + std::to_string(prefix));
    return *s;
}

void print_report(const KeyReport& r, bool as_json) {
    const std::string network = network_name(r.prefix);
    const std::string public_hex = core::to_hex(r.public_key);
    auto account = core::account_id(r.scheme, r.public_key);
    if (!account) throw CliError("public key has the wrong length for the scheme");
    const std::string account_hex = core::to_hex(*account);
    const std::string ss58_public = ss58(r.public_key, r.prefix);
    // The account address: for ecdsa the SS58 of blake2_256(key), not of the key.
    const std::string ss58_address = ss58(*account, r.prefix);

    if (as_json) {
        json j;  // keys come out sorted, as serde_json's default map sorts them
        switch (r.source) {
            case Source::phrase:
                j["secretPhrase"] = r.uri;
                break;
            case Source::secret_uri:
                j["secretKeyUri"] = r.uri;
                break;
            case Source::public_uri:
                j["publicKeyUri"] = r.uri;
                break;
            case Source::public_hex:
                break;
        }
        j["networkId"] = network;
        if (r.seed) j["secretSeed"] = *r.seed;
        j["publicKey"] = public_hex;
        j["accountId"] = account_hex;
        j["ss58PublicKey"] = ss58_public;
        j["ss58Address"] = ss58_address;
        // Invalid UTF-8 cannot reach here (URIs are validated), but never throw on it.
        std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
        return;
    }
    std::ostream& out = std::cout;
    switch (r.source) {
        case Source::phrase:
        case Source::secret_uri:
            if (r.source == Source::phrase)
                out << "Secret phrase:       " << r.uri << "\n";
            else
                out << "Secret Key URI `" << r.uri << "` is account:\n";
            out << "  Network ID:        " << network << "\n"
                << "  Secret seed:       " << r.seed.value_or("n/a") << "\n"
                << "  Public key (hex):  " << public_hex << "\n"
                << "  Account ID:        " << account_hex << "\n"
                << "  Public key (SS58): " << ss58_public << "\n"
                << "  SS58 Address:      " << ss58_address << "\n";
            break;
        case Source::public_uri:
        case Source::public_hex:
            if (r.source == Source::public_uri)
                out << "Public Key URI `" << r.uri << "` is account:\n  ";
            out << "Network ID/Version: " << network << "\n"
                << "  Public key (hex):   " << public_hex << "\n"
                << "  Account ID:         " << account_hex << "\n"
                << "  Public key (SS58):  " << ss58_public << "\n"
                << "  SS58 Address:       " << ss58_address << "\n";
            break;
    }
    out.flush();
}

std::string seed_hex(const core::KeyPair& pair) {
    if (!pair.seed()) return "n/a";
    return core::to_hex(pair.seed()->span());
}

// subkey print_from_uri's first branch: the whole URI is a BIP-39 phrase.
std::optional<KeyReport> report_from_phrase(core::Scheme scheme, const SecretString& uri,
                                            const std::optional<SecretString>& password,
                                            uint16_t prefix) {
    if (!core::bip39::mnemonic_to_entropy(uri.view())) return std::nullopt;
    auto seed = core::bip39::mini_secret_from_mnemonic(
        uri.view(), password ? password->view() : std::string_view());
    if (!seed) return std::nullopt;
    auto pair = core::KeyPair::from_seed(scheme, seed->span());
    if (!pair) return std::nullopt;
    return KeyReport{Source::phrase, uri.str(),          seed_hex(*pair),
                     scheme,         pair->public_key(), prefix};
}

}  // namespace

// ---------------------------------------------------------------------------

int run_inspect(const InspectOptions& opts) {
    const core::Scheme scheme = parse_scheme(opts.common.scheme);
    const Network network = parse_network(opts.common.network);
    const bool as_json = parse_output_json(opts.common.output_type);
    const SecretString uri = read_uri(opts.uri);

    if (opts.public_key) {
        if (opts.common.password || opts.common.password_filename)
            throw CliError("--password makes no sense with --public");
        auto bytes = core::from_hex(uri.view());
        if (!bytes) throw CliError("invalid public key: not valid hex");
        if (bytes->size() != core::public_key_size(scheme))
            throw CliError("invalid public key: " + std::string(core::scheme_name(scheme)) +
                           " public keys are " + std::to_string(core::public_key_size(scheme)) +
                           " bytes, got " + std::to_string(bytes->size()));
        print_report(
            {Source::public_hex, "", std::nullopt, scheme, std::move(*bytes), network.prefix},
            as_json);
        return 0;
    }

    const auto password = read_password(opts.common);
    if (auto report = report_from_phrase(scheme, uri, password, network.prefix)) {
        print_report(*report, as_json);
        return 0;
    }
    std::optional<std::string_view> pw;
    if (password) pw = password->view();
    auto pair = core::KeyPair::from_suri(scheme, uri.view(), pw);
    if (pair) {
        print_report({Source::secret_uri, uri.str(), seed_hex(*pair), scheme, pair->public_key(),
                      network.prefix},
                     as_json);
        return 0;
    }
    auto pub = public_from_uri(scheme, uri.view());
    if (auto* p = std::get_if<PublicFromUri>(&pub)) {
        const uint16_t prefix = network.given ? network.prefix : p->prefix;
        print_report(
            {Source::public_uri, uri.str(), std::nullopt, scheme, std::move(p->key), prefix},
            as_json);
        return 0;
    }
    if (looks_like_address(uri.view())) throw CliError(std::get<std::string>(pub));
    throw CliError(describe_secret_error(pair.error(), scheme));
}

int run_generate(const GenerateOptions& opts) {
    const core::Scheme scheme = parse_scheme(opts.common.scheme);
    const Network network = parse_network(opts.common.network);
    const bool as_json = parse_output_json(opts.common.output_type);
    if (opts.words != 12 && opts.words != 15 && opts.words != 18 && opts.words != 21 &&
        opts.words != 24)
        throw CliError("invalid number of words given for phrase: must be 12/15/18/21/24");
    const auto password = read_password(opts.common);
    auto mnemonic = core::bip39::generate_mnemonic(opts.words);
    if (!mnemonic) throw CliError("mnemonic generation failed");
    const SecretString phrase(
        std::string(reinterpret_cast<const char*>(mnemonic->data()), mnemonic->size()));
    auto report = report_from_phrase(scheme, phrase, password, network.prefix);
    if (!report) throw CliError("key derivation from the generated phrase failed");
    print_report(*report, as_json);
    return 0;
}

int run_sign(const SignOptions& opts) {
    const core::Scheme scheme = parse_scheme(opts.common.scheme);
    if (!opts.suri && !opts.message)
        throw CliError(
            "give --suri or --message: the URI and the message cannot both come from stdin");
    const SecretString suri = read_uri(opts.suri);
    const auto password = read_password(opts.common);
    std::optional<std::string_view> pw;
    if (password) pw = password->view();
    auto pair = core::KeyPair::from_suri(scheme, suri.view(), pw);
    if (!pair) throw CliError(describe_secret_error(pair.error(), scheme));
    const core::Bytes message = read_message(opts.message, opts.hex);
    auto sig = pair->sign(message);
    if (!sig) throw CliError(std::string("signing failed: ") + core::error_message(sig.error()));
    std::cout << core::to_hex(*sig) << "\n";
    return 0;
}

int run_verify(const VerifyOptions& opts) {
    const core::Scheme scheme = parse_scheme(opts.common.scheme);
    auto sig = core::from_hex(opts.signature);
    if (!sig) throw CliError("invalid signature: not valid hex");
    if (sig->size() != core::signature_size(scheme))
        throw CliError("invalid signature: " + std::string(core::scheme_name(scheme)) +
                       " signatures are " + std::to_string(core::signature_size(scheme)) +
                       " bytes, got " + std::to_string(sig->size()));

    // subkey: strip 0x; hex means a raw public key, anything else an SS58 (URI).
    const SecretString uri = read_uri(opts.public_uri);
    std::string_view text = uri.view();
    if (text.substr(0, 2) == "0x") text.remove_prefix(2);
    core::Bytes public_key;
    if (auto raw = core::from_hex(text); raw && !text.empty()) {
        if (raw->size() != core::public_key_size(scheme))
            throw CliError("invalid public key: " + std::string(core::scheme_name(scheme)) +
                           " public keys are " + std::to_string(core::public_key_size(scheme)) +
                           " bytes, got " + std::to_string(raw->size()));
        public_key = std::move(*raw);
    } else {
        auto pub = public_from_uri(scheme, text);
        if (auto* p = std::get_if<PublicFromUri>(&pub))
            public_key = std::move(p->key);
        else
            throw CliError(std::get<std::string>(pub));
    }

    const core::Bytes message = read_message(opts.message, opts.hex);
    const core::Error result =
        core::verify(scheme, core::SignatureBytes(*sig), message, core::PublicKeyBytes(public_key));
    if (result == core::Error::ok) {
        std::cout << "Signature verifies correctly.\n";
        return 0;
    }
    throw CliError("Signature verification failed", 1);
}

}  // namespace teesigner::cli
