#include "protection_cmd.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "commands.hpp"
#include "signer_ta.h"
#include "teesigner/core/bytes.hpp"

namespace teesigner::cli {

namespace core = teesigner::core;
namespace prot = teesigner::core::protection;
using nlohmann::ordered_json;
using History = core::protection::History;

// ---- Endpoint options ------------------------------------------------------------------

void add_rpc_options(CLI::App* cmd, RpcOptions& o) {
    cmd->add_option("--rpc-url", o.rpc_url,
                    "The signer's JSON-RPC URL, http:// or https:// (default "
                    "http://127.0.0.1:9955)")
        ->type_name("URL");
    cmd->add_option("--unix-socket", o.unix_socket, "Talk to the signer over this Unix socket")
        ->type_name("PATH");
    cmd->add_option("--token-file", o.token_file,
                    "File whose first line is the bearer token (default: $TS_SIGNER_TOKEN, if set)")
        ->type_name("PATH");
    cmd->add_option("--ca-file", o.ca_file, "https: CA certificate(s) to trust (PEM)")
        ->type_name("PATH");
    cmd->add_option("--cert-file", o.cert_file, "https: client certificate for mutual TLS (PEM)")
        ->type_name("PATH");
    cmd->add_option("--key-file", o.key_file, "https: client private key for mutual TLS (PEM)")
        ->type_name("PATH");
}

client::Endpoint make_endpoint(const RpcOptions& o) {
    if (!o.rpc_url.empty() && !o.unix_socket.empty())
        throw CliError("give either --rpc-url or --unix-socket, not both");
    client::Endpoint e;
    if (!o.unix_socket.empty()) {
        e.url = "unix:" + o.unix_socket;
    } else {
        e.url = o.rpc_url.empty() ? "http://127.0.0.1:9955" : o.rpc_url;
        if (e.url.rfind("http://", 0) != 0 && e.url.rfind("https://", 0) != 0)
            throw CliError("--rpc-url must start with http:// or https:// (got '" + e.url + "')");
    }
    if (!o.token_file.empty()) {
        std::ifstream in(o.token_file);
        if (!in) throw CliError("cannot read --token-file " + o.token_file);
        std::string token;
        std::getline(in, token);
        while (!token.empty() &&
               (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
            token.pop_back();
        if (token.empty()) throw CliError("--token-file " + o.token_file + ": first line is empty");
        e.token = std::move(token);
    }
    if (!e.token) {
        // As session-keys: the environment keeps the token out of the process list.
        if (const char* env = std::getenv("TS_SIGNER_TOKEN"); env != nullptr && *env != '\0')
            e.token = std::string(env);
    }
    e.ca_file = o.ca_file;
    e.cert_file = o.cert_file;
    e.key_file = o.key_file;
    return e;
}

namespace {

// Input is bad: exit 2 with the location.
[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw CliError(where + ": " + what, 2);
}

// The signer failed or refused: exit 1.
[[noreturn]] void signer_failed(const std::string& what) {
    throw CliError(what, 1);
}

nlohmann::json call(client::Client& c, std::string_view method, nlohmann::json params) {
    try {
        return c.call(method, std::move(params));
    } catch (const client::RpcError& e) {
        std::string msg = std::string(method) + " failed: " + e.what();
        if (e.code() == -32001 && method == "signer_importProtection")
            msg +=
                "; signer_importProtection is sensitive: use the Unix socket or a token whose "
                "allow-list names it";
        signer_failed(msg);
    } catch (const client::TransportError& e) {
        signer_failed(std::string("cannot reach the signer: ") + e.what());
    }
}

// ---- JSON field readers --------------------------------------------------------------------

constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

const ordered_json& member(const ordered_json& obj, const std::string& where, const char* name) {
    auto it = obj.find(name);
    if (it == obj.end()) bad(where, std::string("missing field \"") + name + "\"");
    return *it;
}

// Objects below the top level are strict: exactly the documented fields.
void only_fields(const ordered_json& obj, const std::string& where,
                 std::initializer_list<const char*> names) {
    if (!obj.is_object()) bad(where, "expected an object");
    for (const auto& [key, value] : obj.items()) {
        (void)value;
        bool known = false;
        for (const char* n : names) known = known || key == n;
        if (!known) bad(where, "unknown field \"" + key + "\"");
    }
    for (const char* n : names) (void)member(obj, where, n);
}

uint64_t read_u64(const ordered_json& v, const std::string& where) {
    if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
            bad(where,
                "expected a u64 as a string of decimal digits, got \"" + s.substr(0, 32) + "\"");
        uint64_t out = 0;
        for (char c : s) {
            const uint64_t d = static_cast<uint64_t>(c - '0');
            if (out > (UINT64_MAX - d) / 10) bad(where, "\"" + s + "\" is larger than 2^64 - 1");
            out = out * 10 + d;
        }
        return out;
    }
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
        const uint64_t x = v.get<uint64_t>();
        if (x > kMaxSafeInteger)
            bad(where, "a u64 above 2^53 - 1 must be written as a decimal string");
        return x;
    }
    bad(where, "expected a u64 (decimal string, or an integer up to 2^53 - 1), got " +
                   std::string(v.type_name()));
}

uint32_t read_u32(const ordered_json& v, const std::string& where) {
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
        const uint64_t x = v.get<uint64_t>();
        if (x > UINT32_MAX) bad(where, "expected a u32 (0 ... 4294967295), got " + v.dump());
        return static_cast<uint32_t>(x);
    }
    bad(where, "expected a u32 integer (0 ... 4294967295), got " +
                   (v.is_primitive() ? v.dump() : std::string(v.type_name())));
}

core::Bytes read_hex(const ordered_json& v, const std::string& where, size_t size) {
    if (!v.is_string()) bad(where, "expected a 0x-prefixed hex string");
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        bad(where, "expected a 0x-prefixed hex string");
    if ((s.size() - 2) != 2 * size)
        bad(where, "expected " + std::to_string(size) + " bytes (" + std::to_string(2 * size) +
                       " hex digits), got " + std::to_string(s.size() - 2) + " hex digits");
    auto bytes = core::from_hex(s);
    if (!bytes) bad(where, "invalid hex digit");
    return std::move(bytes).value();
}

core::Hash256 read_hash(const ordered_json& v, const std::string& where) {
    core::Bytes b = read_hex(v, where, 32);
    core::Hash256 h{};
    std::copy(b.begin(), b.end(), h.begin());
    return h;
}

const std::string& read_string(const ordered_json& v, const std::string& where) {
    if (!v.is_string()) bad(where, "expected a string");
    return v.get_ref<const std::string&>();
}

// ---- Names -----------------------------------------------------------------------------------

constexpr const char* kParaKinds[] = {"",
                                      "backing_seconded",
                                      "backing_valid",
                                      "approval",
                                      "approval_multiple",
                                      "dispute_valid",
                                      "dispute_invalid"};

prot::Rule rule_from_name(const std::string& s, const std::string& where) {
    if (s == "grandpa") return prot::Rule::grandpa;
    if (s == "babe") return prot::Rule::babe;
    if (s == "beefy") return prot::Rule::beefy;
    if (s == "para") return prot::Rule::para;
    bad(where, "unknown rule \"" + s.substr(0, 32) +
                   "\" (expected \"grandpa\", \"babe\", \"beefy\" or \"para\")");
}

size_t public_key_size(prot::Rule rule) {
    return rule == prot::Rule::beefy ? 33 : 32;
}

std::string u64s(uint64_t v) {
    return std::to_string(v);
}

bool is_zero(const core::Hash256& h) {
    return std::all_of(h.begin(), h.end(), [](uint8_t b) { return b == 0; });
}

// ---- JSON -> History --------------------------------------------------------------------------

prot::Position read_watermark(prot::Rule rule, const ordered_json& w, const std::string& where) {
    switch (rule) {
        case prot::Rule::grandpa:
            only_fields(w, where, {"set_id", "round"});
            return {read_u64(w["set_id"], where + ".set_id"),
                    read_u64(w["round"], where + ".round")};
        case prot::Rule::babe:
            only_fields(w, where, {"slot"});
            return {read_u64(w["slot"], where + ".slot"), 0};
        case prot::Rule::beefy:
            only_fields(w, where, {"set_id", "block_number"});
            return {read_u64(w["set_id"], where + ".set_id"),
                    read_u32(w["block_number"], where + ".block_number")};
        case prot::Rule::para:
            only_fields(w, where, {"session"});
            return {read_u32(w["session"], where + ".session"), 0};
        case prot::Rule::none:
            break;
    }
    bad(where, "no rule");
}

prot::Record read_record(prot::Rule rule, const ordered_json& r, const std::string& where) {
    prot::Record out;
    switch (rule) {
        case prot::Rule::grandpa: {
            only_fields(
                r, where,
                {"set_id", "round", "kind", "target_hash", "target_number", "payload_hash"});
            out.position = {read_u64(r["set_id"], where + ".set_id"),
                            read_u64(r["round"], where + ".round")};
            const std::string& kind = read_string(r["kind"], where + ".kind");
            if (kind == "prevote")
                out.kind = 0;
            else if (kind == "precommit")
                out.kind = 1;
            else
                bad(where + ".kind",
                    "expected \"prevote\" or \"precommit\", got \"" + kind.substr(0, 32) + "\"");
            out.subject = read_hash(r["target_hash"], where + ".target_hash");
            out.number = read_u32(r["target_number"], where + ".target_number");
            out.payload_hash = read_hash(r["payload_hash"], where + ".payload_hash");
            break;
        }
        case prot::Rule::babe:
            only_fields(r, where, {"slot", "pre_hash"});
            out.position = {read_u64(r["slot"], where + ".slot"), 0};
            out.payload_hash = read_hash(r["pre_hash"], where + ".pre_hash");
            break;
        case prot::Rule::beefy:
            only_fields(r, where, {"set_id", "block_number", "payload_hash"});
            out.position = {read_u64(r["set_id"], where + ".set_id"),
                            read_u32(r["block_number"], where + ".block_number")};
            out.payload_hash = read_hash(r["payload_hash"], where + ".payload_hash");
            break;
        case prot::Rule::para: {
            only_fields(r, where,
                        {"session", "candidate_hash", "sides", "first_statement", "payload_hash"});
            out.position = {read_u32(r["session"], where + ".session"), 0};
            out.subject = read_hash(r["candidate_hash"], where + ".candidate_hash");
            const ordered_json& sides = r["sides"];
            const std::string sw = where + ".sides";
            if (!sides.is_array() || sides.empty() || sides.size() > 2)
                bad(sw, "expected [\"valid\"], [\"invalid\"] or [\"valid\", \"invalid\"]");
            for (size_t i = 0; i < sides.size(); ++i) {
                const std::string& s = read_string(sides[i], sw + "[" + std::to_string(i) + "]");
                const uint8_t bit = s == "valid"     ? prot::kValidSide
                                    : s == "invalid" ? prot::kInvalidSide
                                                     : 0;
                if (bit == 0)
                    bad(sw + "[" + std::to_string(i) + "]",
                        "expected \"valid\" or \"invalid\", got \"" + s.substr(0, 32) + "\"");
                if (out.sides & bit) bad(sw, "\"" + s + "\" is listed twice");
                out.sides = static_cast<uint8_t>(out.sides | bit);
            }
            const std::string& first =
                read_string(r["first_statement"], where + ".first_statement");
            for (uint8_t k = 1; k <= 6; ++k)
                if (first == kParaKinds[k]) out.kind = k;
            if (out.kind == 0)
                bad(where + ".first_statement",
                    "unknown statement \"" + first.substr(0, 32) +
                        "\" (expected backing_seconded, backing_valid, approval, "
                        "approval_multiple, dispute_valid or dispute_invalid)");
            // The first statement took a side; the sides must include it.
            const uint8_t first_side = out.kind == 6 ? prot::kInvalidSide : prot::kValidSide;
            if ((out.sides & first_side) == 0)
                bad(where, "first_statement \"" + first + "\" takes the " +
                               (first_side == prot::kValidSide ? "valid" : "invalid") +
                               " side, which \"sides\" does not list");
            out.payload_hash = read_hash(r["payload_hash"], where + ".payload_hash");
            break;
        }
        case prot::Rule::none:
            bad(where, "no rule");
    }
    return out;
}

// ---- History -> JSON --------------------------------------------------------------------------

[[noreturn]] void unrepresentable(const History& h, const std::string& what) {
    throw CliError("the signer's history for " + std::string(prot::rule_name(h.rule)) + " key " +
                       core::to_hex(h.public_key) + " has " + what +
                       ", which the JSON interchange format cannot represent",
                   1);
}

ordered_json watermark_json(const History& h) {
    const prot::Position& w = h.watermark;
    switch (h.rule) {
        case prot::Rule::grandpa:
            return {{"set_id", u64s(w.major)}, {"round", u64s(w.minor)}};
        case prot::Rule::babe:
            if (w.minor != 0) unrepresentable(h, "a watermark with a non-zero minor part");
            return {{"slot", u64s(w.major)}};
        case prot::Rule::beefy:
            if (w.minor > UINT32_MAX) unrepresentable(h, "a watermark block number above 2^32");
            return {{"set_id", u64s(w.major)}, {"block_number", w.minor}};
        case prot::Rule::para:
            if (w.major > UINT32_MAX || w.minor != 0)
                unrepresentable(h, "a watermark that is not a u32 session");
            return {{"session", w.major}};
        case prot::Rule::none:
            break;
    }
    unrepresentable(h, "no rule");
}

ordered_json record_json(const History& h, const prot::Record& r) {
    switch (h.rule) {
        case prot::Rule::grandpa:
            if (r.kind > 1 || r.sides != 0) unrepresentable(h, "a malformed record");
            return {{"set_id", u64s(r.position.major)},
                    {"round", u64s(r.position.minor)},
                    {"kind", r.kind == 0 ? "prevote" : "precommit"},
                    {"target_hash", core::to_hex(r.subject)},
                    {"target_number", r.number},
                    {"payload_hash", core::to_hex(r.payload_hash)}};
        case prot::Rule::babe:
            if (r.position.minor != 0 || r.kind != 0 || r.sides != 0 || r.number != 0 ||
                !is_zero(r.subject))
                unrepresentable(h, "a malformed record");
            return {{"slot", u64s(r.position.major)}, {"pre_hash", core::to_hex(r.payload_hash)}};
        case prot::Rule::beefy:
            if (r.position.minor > UINT32_MAX || r.kind != 0 || r.sides != 0 || r.number != 0 ||
                !is_zero(r.subject))
                unrepresentable(h, "a malformed record");
            return {{"set_id", u64s(r.position.major)},
                    {"block_number", r.position.minor},
                    {"payload_hash", core::to_hex(r.payload_hash)}};
        case prot::Rule::para: {
            if (r.position.major > UINT32_MAX || r.position.minor != 0 || r.kind < 1 ||
                r.kind > 6 || r.sides < 1 || r.sides > 3 || r.number != 0)
                unrepresentable(h, "a malformed record");
            ordered_json sides = ordered_json::array();
            if (r.sides & prot::kValidSide) sides.push_back("valid");
            if (r.sides & prot::kInvalidSide) sides.push_back("invalid");
            return {{"session", r.position.major},
                    {"candidate_hash", core::to_hex(r.subject)},
                    {"sides", sides},
                    {"first_statement", kParaKinds[r.kind]},
                    {"payload_hash", core::to_hex(r.payload_hash)}};
        }
        case prot::Rule::none:
            break;
    }
    unrepresentable(h, "no rule");
}

// Stricter than core's record_less: a total order, so that std::unique can drop
// exact duplicates after a merge.
bool merge_order_less(prot::Rule rule, const prot::Record& a, const prot::Record& b) {
    if (a.position != b.position) return a.position < b.position;
    if (rule == prot::Rule::grandpa && a.kind != b.kind) return a.kind < b.kind;
    if (rule == prot::Rule::para && a.subject != b.subject) return a.subject < b.subject;
    // Total order over the remaining fields, so that exact duplicates end up adjacent.
    return std::tie(a.kind, a.sides, a.subject, a.number, a.payload_hash) <
           std::tie(b.kind, b.sides, b.subject, b.number, b.payload_hash);
}

// ---- Files ------------------------------------------------------------------------------------

std::string read_input(const std::string& file) {
    if (file == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) throw CliError(file + ": is a directory", 2);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CliError("cannot read " + file + ": " + std::strerror(errno), 2);
    constexpr size_t kMaxInput = 256u << 20;  // far above any real history
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<size_t>(in.gcount()));
        if (text.size() > kMaxInput) throw CliError(file + ": larger than 256 MiB", 2);
    }
    return text;
}

// Writes atomically next to the destination, so an interrupted export never
// leaves a truncated history that looks complete.
void write_output(const std::string& out, const std::string& text) {
    if (out.empty() || out == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return;
    }
    const std::string tmp = out + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw CliError("cannot write " + tmp + ": " + std::strerror(errno), 2);
        f.write(text.data(), static_cast<std::streamsize>(text.size()));
        f.flush();
        if (!f) throw CliError("writing " + tmp + " failed", 2);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, out, ec);
    if (ec) throw CliError("cannot rename " + tmp + " to " + out + ": " + ec.message(), 2);
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// A history file: the JSON document, or a binary Document (raw "TSPX" bytes or hex).
std::vector<History> load_history(const std::string& file) {
    const std::string text = read_input(file);
    const std::string name = file == "-" ? "stdin" : file;
    if (text.rfind("TSPX", 0) == 0) {
        auto items = prot::decode_document(core::as_bytes(text));
        if (!items) throw CliError(name + ": not a valid binary protection Document", 2);
        return std::move(items).value();
    }
    size_t start = text.find_first_not_of(" \t\r\n");
    if (start != std::string::npos && text.compare(start, 2, "0x") == 0) {
        std::string h = text.substr(start);
        while (!h.empty() && std::isspace(static_cast<unsigned char>(h.back()))) h.pop_back();
        auto bytes = core::from_hex(h);
        if (!bytes) throw CliError(name + ": starts with 0x but is not hex", 2);
        auto items = prot::decode_document(*bytes);
        if (!items) throw CliError(name + ": not a valid binary protection Document", 2);
        return std::move(items).value();
    }
    ordered_json doc = interchange::parse_text(text, name);
    try {
        return interchange::from_json(doc);
    } catch (const CliError& e) {
        throw CliError(name + ": " + e.what(), e.exit_code());
    }
}

}  // namespace

// ---- interchange ------------------------------------------------------------------------------

namespace interchange {

ordered_json parse_text(const std::string& text, const std::string& source) {
    // nlohmann keeps the last of duplicate members; refuse them instead, since
    // the two values may disagree about what was signed.
    std::vector<std::set<std::string>> open;
    std::string duplicate;
    auto callback = [&](int, ordered_json::parse_event_t event, ordered_json& parsed) {
        switch (event) {
            case ordered_json::parse_event_t::object_start:
                open.emplace_back();
                break;
            case ordered_json::parse_event_t::object_end:
                if (!open.empty()) open.pop_back();
                break;
            case ordered_json::parse_event_t::key:
                if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second &&
                    duplicate.empty())
                    duplicate = parsed.get<std::string>();
                break;
            default:
                break;
        }
        return true;
    };
    ordered_json doc;
    try {
        doc = ordered_json::parse(text, callback);
    } catch (const ordered_json::parse_error& e) {
        throw CliError(source + ": not valid JSON: " + e.what(), 2);
    }
    if (!duplicate.empty())
        throw CliError(source + ": member \"" + duplicate.substr(0, 64) + "\" appears twice", 2);
    return doc;
}

std::vector<History> from_json(const ordered_json& doc) {
    if (!doc.is_object()) bad("document", "expected a JSON object");
    const ordered_json& format = member(doc, "document", "format");
    if (!format.is_string() || format.get<std::string>() != "tee-signer-protection")
        bad("format", "expected \"tee-signer-protection\", got " + format.dump().substr(0, 64));
    const ordered_json& version = member(doc, "document", "version");
    if (!version.is_number_integer() && !version.is_number_unsigned())
        bad("version", "expected the integer 1");
    if (version.get<int64_t>() != 1)
        bad("version", "unsupported version " + version.dump() + " (this tool reads version 1)");
    if (auto it = doc.find("exported_at"); it != doc.end() && !it->is_string())
        bad("exported_at", "expected an RFC 3339 time string");
    const ordered_json& keys = member(doc, "document", "keys");
    if (!keys.is_array()) bad("keys", "expected an array");

    std::vector<History> out;
    out.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        const std::string where = "keys[" + std::to_string(i) + "]";
        const ordered_json& k = keys[i];
        only_fields(k, where, {"rule", "public_key", "watermark", "records"});
        History h;
        h.rule = rule_from_name(read_string(k["rule"], where + ".rule"), where + ".rule");
        h.public_key = read_hex(k["public_key"], where + ".public_key", public_key_size(h.rule));
        h.watermark = read_watermark(h.rule, k["watermark"], where + ".watermark");
        const ordered_json& records = k["records"];
        if (!records.is_array()) bad(where + ".records", "expected an array");
        h.records.reserve(records.size());
        for (size_t j = 0; j < records.size(); ++j)
            h.records.push_back(
                read_record(h.rule, records[j], where + ".records[" + std::to_string(j) + "]"));
        out.push_back(std::move(h));
    }
    return out;
}

std::vector<History> merge(std::vector<History> items) {
    std::map<std::pair<prot::Rule, core::Bytes>, History> grouped;
    for (History& h : items) {
        auto key = std::make_pair(h.rule, h.public_key);
        auto [it, fresh] = grouped.try_emplace(key);
        History& g = it->second;
        if (fresh) {
            g.rule = h.rule;
            g.public_key = h.public_key;
            g.watermark = h.watermark;
        }
        g.watermark = std::max(g.watermark, h.watermark);
        std::move(h.records.begin(), h.records.end(), std::back_inserter(g.records));
    }
    std::vector<History> out;
    out.reserve(grouped.size());
    for (auto& [key, h] : grouped) {
        const prot::Rule rule = h.rule;
        std::erase_if(h.records, [&h](const prot::Record& r) { return r.position < h.watermark; });
        std::sort(h.records.begin(), h.records.end(),
                  [rule](const prot::Record& a, const prot::Record& b) {
                      return merge_order_less(rule, a, b);
                  });
        h.records.erase(std::unique(h.records.begin(), h.records.end()), h.records.end());
        out.push_back(std::move(h));
    }
    return out;
}

ordered_json to_json(const std::vector<History>& items, const std::string& exported_at) {
    ordered_json doc;
    doc["format"] = "tee-signer-protection";
    doc["version"] = 1;
    if (!exported_at.empty()) doc["exported_at"] = exported_at;
    ordered_json keys = ordered_json::array();
    for (const History& h : merge(items)) {
        ordered_json entry;
        entry["rule"] = prot::rule_name(h.rule);
        if (h.public_key.size() != public_key_size(h.rule))
            unrepresentable(h, "a public key of " + std::to_string(h.public_key.size()) + " bytes");
        entry["public_key"] = core::to_hex(h.public_key);
        entry["watermark"] = watermark_json(h);
        ordered_json records = ordered_json::array();
        for (const prot::Record& r : h.records) records.push_back(record_json(h, r));
        entry["records"] = std::move(records);
        keys.push_back(std::move(entry));
    }
    doc["keys"] = std::move(keys);
    return doc;
}

std::vector<core::Bytes> to_documents(const std::vector<History>& items, size_t max_bytes) {
    // SCALE sizes: Document header 4 + 1 + compact(len) <= 5; Item 1 + compact(len)
    // + public + 16 + compact(len); Record 86 bytes. Compacts are counted at 5.
    constexpr size_t kDocOverhead = 4 + 1 + 5;
    constexpr size_t kRecord = 8 + 8 + 1 + 1 + 32 + 4 + 32;
    std::vector<core::Bytes> out;
    std::vector<History> current;
    size_t size = kDocOverhead;
    auto flush = [&]() {
        if (current.empty()) return;
        out.push_back(prot::encode_document(current));
        current.clear();
        size = kDocOverhead;
    };
    for (const History& h : items) {
        const size_t item_overhead = 1 + 5 + h.public_key.size() + 16 + 5;
        if (kDocOverhead + item_overhead + kRecord > max_bytes)
            throw CliError("import document size limit too small", 2);
        size_t next = 0;
        do {
            if (size + item_overhead + (h.records.size() > next ? kRecord : 0) > max_bytes) flush();
            History part;
            part.rule = h.rule;
            part.public_key = h.public_key;
            part.watermark = h.watermark;
            const size_t room = (max_bytes - size - item_overhead) / kRecord;
            const size_t n = std::min(room, h.records.size() - next);
            part.records.assign(h.records.begin() + static_cast<std::ptrdiff_t>(next),
                                h.records.begin() + static_cast<std::ptrdiff_t>(next + n));
            next += n;
            size += item_overhead + n * kRecord;
            current.push_back(std::move(part));
        } while (next < h.records.size());
    }
    flush();
    return out;
}

}  // namespace interchange

// ---- Commands ---------------------------------------------------------------------------------

namespace {

struct Totals {
    size_t keys = 0;
    size_t records = 0;
};

Totals count(const std::vector<History>& items) {
    Totals t;
    for (const History& h : interchange::merge(items)) {
        ++t.keys;
        t.records += h.records.size();
    }
    return t;
}

std::string position_text(prot::Rule rule, const prot::Position& p) {
    switch (rule) {
        case prot::Rule::grandpa:
            return "set " + u64s(p.major) + " round " + u64s(p.minor);
        case prot::Rule::babe:
            return "slot " + u64s(p.major);
        case prot::Rule::beefy:
            return "set " + u64s(p.major) + " block " + u64s(p.minor);
        case prot::Rule::para:
            return "session " + u64s(p.major);
        case prot::Rule::none:
            break;
    }
    return "?";
}

}  // namespace

int run_protection_export(const ProtectionExportOptions& o) {
    client::Client c(make_endpoint(o.rpc));
    std::vector<History> items;
    std::string cursor = "0";
    size_t pages = 0;
    for (;;) {
        const nlohmann::json page =
            call(c, "signer_exportProtection", nlohmann::json::array({cursor}));
        ++pages;
        if (!page.is_object() || !page.contains("document") || !page["document"].is_string())
            signer_failed("signer_exportProtection answered without a document");
        auto bytes = core::from_hex(page["document"].get<std::string>());
        if (!bytes) signer_failed("signer_exportProtection answered a document that is not hex");
        auto decoded = prot::decode_document(*bytes);
        if (!decoded)
            signer_failed("page " + std::to_string(pages) +
                          " of signer_exportProtection is not a valid protection Document");
        std::move(decoded->begin(), decoded->end(), std::back_inserter(items));
        const nlohmann::json& next = page.contains("next") ? page["next"] : nlohmann::json();
        if (next.is_null()) break;
        if (!next.is_string() || next.get<std::string>().empty() ||
            next.get<std::string>().find_first_not_of("0123456789") != std::string::npos)
            signer_failed("signer_exportProtection answered a malformed next cursor");
        if (next.get<std::string>() == cursor || pages > 1000000)
            signer_failed("signer_exportProtection does not advance its cursor");
        cursor = next.get<std::string>();
    }
    const ordered_json doc = interchange::to_json(items, utc_now());
    write_output(o.out, doc.dump(2) + "\n");
    const Totals t = count(items);
    std::fprintf(stderr, "exported %zu key histories with %zu records (%zu pages)%s%s\n", t.keys,
                 t.records, pages, o.out.empty() || o.out == "-" ? "" : " to ",
                 o.out.empty() || o.out == "-" ? "" : o.out.c_str());
    return 0;
}

int run_protection_import(const ProtectionImportOptions& o) {
    if (o.output_type != "text" && o.output_type != "json")
        throw CliError("--output-type must be text or json");
    // Validate everything before the first call: a bad document imports nothing.
    const std::vector<History> items = load_history(o.file);
    const std::vector<core::Bytes> documents =
        interchange::to_documents(items, TA_SIGNER_IMPORT_MAX);
    client::Client c(make_endpoint(o.rpc));
    uint64_t totals[4] = {0, 0, 0, 0};
    const char* names[4] = {"items", "recordsAdded", "recordsConflicting", "watermarksRaised"};
    for (size_t i = 0; i < documents.size(); ++i) {
        nlohmann::json r;
        try {
            r = call(c, "signer_importProtection",
                     nlohmann::json::array({core::to_hex(documents[i])}));
        } catch (const CliError& e) {
            if (i == 0) throw;
            throw CliError(std::string(e.what()) + " (after " + std::to_string(i) + " of " +
                               std::to_string(documents.size()) +
                               " documents were imported; importing again is safe)",
                           e.exit_code());
        }
        for (size_t k = 0; k < 4; ++k) {
            if (!r.is_object() || !r.contains(names[k]) || !r[names[k]].is_number_unsigned())
                signer_failed("signer_importProtection answered without " + std::string(names[k]));
            totals[k] += r[names[k]].get<uint64_t>();
        }
    }
    const Totals t = count(items);
    if (o.output_type == "json") {
        ordered_json out = {{"documents", documents.size()}, {"keys", t.keys},
                            {"records", t.records},          {"items", totals[0]},
                            {"recordsAdded", totals[1]},     {"recordsConflicting", totals[2]},
                            {"watermarksRaised", totals[3]}};
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        std::printf("Imported %zu key histories (%zu records) in %zu document(s)\n", t.keys,
                    t.records, documents.size());
        std::printf("  items:               %llu\n", static_cast<unsigned long long>(totals[0]));
        std::printf("  records added:       %llu\n", static_cast<unsigned long long>(totals[1]));
        std::printf("  records conflicting: %llu\n", static_cast<unsigned long long>(totals[2]));
        std::printf("  watermarks raised:   %llu\n", static_cast<unsigned long long>(totals[3]));
    }
    if (totals[2] > 0)
        std::fprintf(stderr,
                     "warning: %llu imported record(s) conflict with this signer's history; the "
                     "local records were kept and both conflicting payloads stay refused\n",
                     static_cast<unsigned long long>(totals[2]));
    return 0;
}

int run_protection_inspect(const ProtectionInspectOptions& o) {
    if (o.output_type != "text" && o.output_type != "json")
        throw CliError("--output-type must be text or json");
    const std::vector<History> merged = interchange::merge(load_history(o.file));
    if (o.output_type == "json") {
        ordered_json out = ordered_json::array();
        for (const History& h : merged) {
            ordered_json e = {{"rule", prot::rule_name(h.rule)},
                              {"public_key", core::to_hex(h.public_key)},
                              {"watermark", position_text(h.rule, h.watermark)},
                              {"records", h.records.size()}};
            if (!h.records.empty()) {
                e["first"] = position_text(h.rule, h.records.front().position);
                e["last"] = position_text(h.rule, h.records.back().position);
            }
            if (h.rule == prot::Rule::para) {
                size_t both = 0;
                for (const auto& r : h.records) both += r.sides == 3;
                e["frozen_candidates"] = both;
            }
            out.push_back(std::move(e));
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    size_t total = 0;
    for (const History& h : merged) {
        std::printf("%-7s %s\n", prot::rule_name(h.rule), core::to_hex(h.public_key).c_str());
        std::printf("  watermark: %s\n", position_text(h.rule, h.watermark).c_str());
        std::printf("  records:   %zu", h.records.size());
        if (!h.records.empty())
            std::printf(" (%s ... %s)", position_text(h.rule, h.records.front().position).c_str(),
                        position_text(h.rule, h.records.back().position).c_str());
        std::printf("\n");
        if (h.rule == prot::Rule::para) {
            size_t both = 0;
            for (const auto& r : h.records) both += r.sides == 3;
            if (both > 0) std::printf("  candidates with both sides (frozen): %zu\n", both);
        }
        total += h.records.size();
    }
    std::printf("%zu key histories, %zu records\n", merged.size(), total);
    return 0;
}

int run_protection_convert(const ProtectionConvertOptions& o) {
    const std::vector<History> items = load_history(o.file);
    if (o.to == "json") {
        write_output(o.out, interchange::to_json(items, "").dump(2) + "\n");
    } else if (o.to == "hex") {
        write_output(o.out, core::to_hex(prot::encode_document(interchange::merge(items))) + "\n");
    } else {
        throw CliError("--to must be json or hex (got '" + o.to + "')");
    }
    return 0;
}

ProtectionCommand::ProtectionCommand(CLI::App& app) {
    sub_ = app.add_subcommand(
        "protection",
        "Slashing-protection history: export from a signer, import into one, inspect or "
        "convert a history file (docs/protection-interchange.md)");
    sub_->require_subcommand(1);

    export_ = sub_->add_subcommand(
        "export", "Write a signer's protection history as a JSON interchange document");
    add_rpc_options(export_, export_options_.rpc);
    export_->add_option("-o,--out", export_options_.out, "Output file (default: stdout)")
        ->type_name("FILE");

    import_ = sub_->add_subcommand(
        "import",
        "Merge a JSON interchange document (or a binary Document) into a signer's history");
    add_rpc_options(import_, import_options_.rpc);
    import_->add_option("file", import_options_.file, "The history file; - for stdin")
        ->required()
        ->type_name("FILE");
    import_
        ->add_option("--output-type", import_options_.output_type,
                     "Output format: text (default) or json")
        ->type_name("FORMAT");

    inspect_ = sub_->add_subcommand(
        "inspect", "Validate a history file offline and summarise it per key and rule");
    inspect_
        ->add_option("file", inspect_options_.file, "JSON document or binary Document; - for stdin")
        ->required()
        ->type_name("FILE");
    inspect_
        ->add_option("--output-type", inspect_options_.output_type,
                     "Output format: text (default) or json")
        ->type_name("FORMAT");

    convert_ = sub_->add_subcommand(
        "convert", "Convert a history file offline between JSON and the binary Document (hex)");
    convert_
        ->add_option("file", convert_options_.file, "JSON document or binary Document; - for stdin")
        ->required()
        ->type_name("FILE");
    convert_->add_option("--to", convert_options_.to, "json (default) or hex")->type_name("FORMAT");
    convert_->add_option("-o,--out", convert_options_.out, "Output file (default: stdout)")
        ->type_name("FILE");
}

int ProtectionCommand::dispatch() const {
    if (!sub_->parsed()) return -1;
    if (export_->parsed()) return run_protection_export(export_options_);
    if (import_->parsed()) return run_protection_import(import_options_);
    if (inspect_->parsed()) return run_protection_inspect(inspect_options_);
    if (convert_->parsed()) return run_protection_convert(convert_options_);
    throw CliError("protection: expected export, import, inspect or convert");
}

}  // namespace teesigner::cli
