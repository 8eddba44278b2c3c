#include "rpc_methods.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <set>
#include <string_view>

namespace teesigner::signerd {
namespace {

[[noreturn]] void invalid(const std::string& message) {
    throw ServiceError(rpc_error::kInvalidParams, message);
}

// A ServiceError as the JSON-RPC error to answer, its refusal counted by rule.
HandlerResult service_error_result(Metrics& metrics, const ServiceError& e) {
    if (!e.rule().empty()) metrics.refusal(e.rule());
    return HandlerResult::fail(e.code(), e.what(), e.data());
}

// Runs a handler body, turning ServiceError into the JSON-RPC error and
// counting refusals by rule.
template <class F>
Handler wrap(Metrics& metrics, F body) {
    return [&metrics, body = std::move(body)](const json& params,
                                              const ClientContext& client) -> HandlerResult {
        try {
            return HandlerResult::ok(body(params, client));
        } catch (const ServiceError& e) {
            return service_error_result(metrics, e);
        }
    };
}

// The completion of an asynchronous signing call: the value through `to_json`,
// or the error answered exactly as wrap() answers the blocking call's.
template <class T, class ToJson>
Completion<T> answer(Metrics& metrics, HandlerDone done, ToJson to_json) {
    return [&metrics, done = std::move(done), to_json](Outcome<T> outcome) {
        if (!outcome.error) {
            done(HandlerResult::ok(to_json(outcome.value)));
            return;
        }
        try {
            std::rethrow_exception(outcome.error);
        } catch (const ServiceError& e) {
            done(service_error_result(metrics, e));
        } catch (const std::exception& e) {
            done(HandlerResult::fail(rpc_error::kInternalError,
                                     std::string("internal error: ") + e.what()));
        } catch (...) {
            done(HandlerResult::fail(rpc_error::kInternalError, "internal error"));
        }
    };
}

// A signing method in both forms from one definition: `parse(params)` builds
// the request (a ServiceError for bad params), `sign(request)` is the blocking
// call, `sign_async(request, completion)` the non-blocking one (false: not
// possible, run the blocking one on a worker), and `to_json` the result.
// Every request has `public_key`: a released signature is recorded in `usage`
// (may be null) as the key's latest use.
template <class T, class Parse, class Sign, class SignAsync, class ToJson>
void add_signing_method(RpcDispatcher& d, Metrics& metrics, KeyUsage* usage,
                        const std::string& method, Parse parse, Sign sign, SignAsync sign_async,
                        ToJson to_json) {
    d.add(method,
          wrap(metrics,
               [parse, sign, to_json, usage](const json& params, const ClientContext&) -> json {
                   const auto request = parse(params);
                   json out = to_json(sign(request));
                   if (usage != nullptr) usage->signed_with(request.public_key);
                   return out;
               }),
          [&metrics, parse, sign_async, to_json, usage](const json& params, const ClientContext&,
                                                        HandlerDone done) -> bool {
              std::optional<decltype(parse(params))> request;
              try {
                  request.emplace(parse(params));
              } catch (const ServiceError& e) {
                  done(service_error_result(metrics, e));
                  return true;
              }
              if (usage == nullptr)
                  return sign_async(*request, answer<T>(metrics, std::move(done), to_json));
              return sign_async(
                  *request, answer<T>(metrics, std::move(done),
                                      [to_json, usage, pk = request->public_key](const T& value) {
                                          json out = to_json(value);
                                          usage->signed_with(pk);
                                          return out;
                                      }));
          });
}

// A {label, items} transcript object; `allowed` are the other members the
// caller handles itself.
VrfTranscriptData parse_transcript(const json& value, const std::string& name,
                                   std::initializer_list<std::string_view> allowed = {}) {
    if (!value.is_object()) invalid(name + ": expected an object {label, items}");
    for (const auto& [key, v] : value.items()) {
        (void)v;
        if (key != "label" && key != "items" &&
            std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            invalid(name + ": unknown member \"" + key + "\"");
    }
    if (!value.contains("label")) invalid(name + ".label: missing");
    if (!value.contains("items")) invalid(name + ".items: missing");
    VrfTranscriptData t;
    t.label = parse_hex_param(value["label"], name + ".label", SIZE_MAX, 0, 1024);
    const json& items = value["items"];
    if (!items.is_array()) invalid(name + ".items: expected an array of [label, data] pairs");
    if (items.size() > 64) invalid(name + ".items: at most 64 items");
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string item_name = name + ".items[" + std::to_string(i) + "]";
        const json& item = items[i];
        if (!item.is_array() || item.size() != 2)
            invalid(item_name + ": expected a [label, data] pair of 0x hex strings");
        t.items.emplace_back(parse_hex_param(item[0], item_name + "[0]", SIZE_MAX, 0, 1024),
                             parse_hex_param(item[1], item_name + "[1]", SIZE_MAX, 0, 64 * 1024));
    }
    return t;
}

// keystore_sr25519VrfSign's `transcript` (docs/protocol.md): the input as
// {label, items} or as {inputHash}, exactly one of the two, and `extra`.
VrfSignData parse_vrf_sign_data(const json& value, const std::string& name) {
    if (!value.is_object())
        invalid(name + ": expected an object {label, items, extra} or {inputHash, extra}");
    const bool hashed = value.contains("inputHash");
    const bool listed = value.contains("label") || value.contains("items");
    if (hashed && listed) invalid(name + ": give either label and items or inputHash, not both");
    if (!hashed && !listed) invalid(name + ": missing label and items, or inputHash");
    VrfSignData data;
    if (hashed) {
        for (const auto& [key, v] : value.items()) {
            (void)v;
            if (key != "inputHash" && key != "extra")
                invalid(name + ": unknown member \"" + key + "\"");
        }
        const Bytes h = parse_hex_param(value["inputHash"], name + ".inputHash", 64);
        data.input_hash.emplace();
        std::copy(h.begin(), h.end(), data.input_hash->begin());
    } else {
        data.transcript = parse_transcript(value, name, {"extra"});
    }
    if (value.contains("extra") && !value["extra"].is_null()) {
        const json& extra = value["extra"];
        if (extra.is_object() && extra.contains("extra"))
            invalid(name + ".extra: an extra transcript cannot nest another");
        if (extra.is_object() && extra.contains("inputHash"))
            invalid(name + ".extra: the extra transcript must be {label, items}, not a hash");
        data.extra = parse_transcript(extra, name + ".extra");
    }
    return data;
}

// ---- signer_retireKeys (docs/protocol.md) ------------------------------------------

struct RetireTarget {
    KeyTypeId key_type{};
    std::optional<Scheme> scheme;  // unknown for a 32-byte key given as a pair
    Bytes public_key;
    bool held = false;
    RetireVerdict verdict;
};

// signer_attest's "tee" member (docs/protocol.md): the TEE's evidence; its
// nonce is the attestation's reportData.
json tee_evidence_json(const TeeEvidence& t, const Hash256& report_data) {
    char algorithm[16];
    std::snprintf(algorithm, sizeof algorithm, "0x%08x", t.algorithm);
    return {{"type", t.type},
            {"signatureAlgorithm", "RSASSA-PSS SHA-256 MGF1-SHA-256 salt 32"},
            {"algorithmId", algorithm},
            {"nonce", core::to_hex(report_data)},
            {"publicKey",
             {{"modulus", core::to_hex(t.rsa_modulus)},
              {"exponent", core::to_hex(t.rsa_exponent)},
              {"bits", t.rsa_modulus.size() * 8}}},
            {"taMemory",
             {{"digest", core::to_hex(t.ta_memory_digest)},
              {"signature", core::to_hex(t.ta_memory_signature)}}},
            {"taHeader",
             {{"digest", core::to_hex(t.ta_header_digest)},
              {"signature", core::to_hex(t.ta_header_signature)}}}};
}

json retire_target_json(const RetireTarget& t, const char* status) {
    json out = {{"keyType", key_type_string(t.key_type)},
                {"scheme", t.scheme ? json(core::scheme_name(*t.scheme)) : json(nullptr)},
                {"public", core::to_hex(t.public_key)},
                {"status", status},
                {"lastSigned",
                 t.verdict.last_signed ? json(iso_utc(*t.verdict.last_signed)) : json(nullptr)}};
    if (t.held && t.verdict.status != RetireStatus::allowed)
        out["reason"] = retire_status_name(t.verdict.status);
    if (t.verdict.retirable_at) out["retirableAt"] = iso_utc(*t.verdict.retirable_at);
    return out;
}

template <class Refresh>
json retire_keys(KeyService& ks, KeyUsage* usage, const json& params, const ClientContext& c,
                 Refresh refresh) {
    Params p(params, {"keys", "force"}, 1);
    bool force = false;
    if (p.has(1)) {
        if (!p[1].is_boolean()) invalid("force: expected a bool");
        force = p[1].get<bool>();
    }
    std::vector<RetireTarget> targets;
    const json& keys = p[0];
    if (keys.is_string()) {
        const Bytes blob = parse_hex_param(keys, "keys", kSessionKeysSize);
        const auto split = split_session_keys(blob);
        for (size_t i = 0; i < split.size(); ++i) {
            RetireTarget t;
            t.key_type = split[i].second;
            t.scheme = kSessionKeySlots[i].scheme;
            t.public_key = split[i].first;
            targets.push_back(std::move(t));
        }
    } else if (keys.is_array()) {
        if (keys.empty()) invalid("keys: expected at least one [publicKey, keyType] pair");
        if (keys.size() > 64) invalid("keys: at most 64 entries");
        for (size_t i = 0; i < keys.size(); ++i) {
            const std::string name = "keys[" + std::to_string(i) + "]";
            if (!keys[i].is_array() || keys[i].size() != 2)
                invalid(name + ": expected a [publicKey, keyType] pair");
            RetireTarget t;
            t.public_key = parse_hex_param(keys[i][0], name + "[0]", SIZE_MAX, 32, 33);
            t.key_type = parse_key_type_param(keys[i][1], name + "[1]");
            if (t.public_key.size() == 33) t.scheme = Scheme::ecdsa;
            targets.push_back(std::move(t));
        }
    } else {
        invalid(
            "keys: expected a SessionKeys blob (0x hex, 193 bytes) or an array of "
            "[publicKey, keyType] pairs");
    }
    if (usage == nullptr)
        throw ServiceError(rpc_error::kNotSupported, "key retirement is not configured");

    // Which keys the TEE holds, and under which scheme (a 32-byte key given as
    // a pair is sr25519 or ed25519); each (type, scheme) listed once.
    std::map<std::pair<KeyTypeId, Scheme>, std::vector<Bytes>> lists;
    auto holds = [&](const KeyTypeId& kt, Scheme s, const Bytes& pk) {
        auto key = std::make_pair(kt, s);
        auto it = lists.find(key);
        if (it == lists.end()) it = lists.emplace(key, ks.public_keys(kt, s)).first;
        return std::find(it->second.begin(), it->second.end(), pk) != it->second.end();
    };
    std::vector<RetireTarget> unique;
    for (RetireTarget& t : targets) {
        for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) {
            if (t.scheme ? *t.scheme != s : t.public_key.size() != core::public_key_size(s))
                continue;
            if (holds(t.key_type, s, t.public_key)) {
                t.scheme = s;
                t.held = true;
                break;
            }
        }
        const bool seen = std::any_of(unique.begin(), unique.end(), [&](const RetireTarget& u) {
            return u.key_type == t.key_type && u.public_key == t.public_key && u.scheme == t.scheme;
        });
        if (!seen) unique.push_back(std::move(t));
    }
    size_t refused = 0;
    std::set<std::string> reasons;
    for (RetireTarget& t : unique) {
        if (!t.held) continue;
        t.verdict = usage->check(t.public_key, ks.last_signed_at(t.public_key), force);
        if (t.verdict.status != RetireStatus::allowed) {
            ++refused;
            reasons.insert(retire_status_name(t.verdict.status));
        }
    }
    if (refused > 0) {
        json data = {{"keys", json::array()}};
        for (const RetireTarget& t : unique)
            data["keys"].push_back(retire_target_json(
                t, !t.held ? "absent"
                           : (t.verdict.status == RetireStatus::allowed ? "allowed" : "refused")));
        std::string why;
        for (const std::string& r : reasons) why += (why.empty() ? "" : ", ") + r;
        spdlog::warn("key retirement refused for {} ({} of {} keys: {})", c.identity, refused,
                     unique.size(), why);
        throw ServiceError(rpc_error::kRetireRefused,
                           "retirement refused for " + std::to_string(refused) + " of " +
                               std::to_string(unique.size()) + " keys (" + why +
                               "); nothing was retired",
                           "retire", std::move(data));
    }
    json out = {{"retired", 0}, {"keys", json::array()}};
    size_t retired = 0;
    for (const RetireTarget& t : unique) {
        if (t.held) {
            ks.retire_key(t.key_type, *t.scheme, t.public_key);
            ++retired;
            try {
                usage->retired(t.public_key);
            } catch (const std::exception& e) {
                spdlog::error("key usage: {}", e.what());
            }
            spdlog::warn("retired key {} {} {} for {}", key_type_string(t.key_type),
                         core::scheme_name(*t.scheme), core::to_hex(t.public_key), c.identity);
        }
        out["keys"].push_back(retire_target_json(t, t.held ? "retired" : "absent"));
    }
    out["retired"] = retired;
    if (retired > 0) refresh();
    return out;
}

}  // namespace

// ---- Parameter helpers -------------------------------------------------------------

Params::Params(const json& params, std::vector<std::string> names, size_t required)
    : names_(std::move(names)), values_(names_.size()), present_(names_.size(), false) {
    if (params.is_null()) {
        // no params member
    } else if (params.is_array()) {
        if (params.size() > names_.size())
            invalid("expected at most " + std::to_string(names_.size()) + " parameters, got " +
                    std::to_string(params.size()));
        for (size_t i = 0; i < params.size(); ++i) {
            values_[i] = params[i];
            present_[i] = true;
        }
    } else if (params.is_object()) {
        for (const auto& [key, value] : params.items()) {
            size_t i = 0;
            while (i < names_.size() && names_[i] != key) ++i;
            if (i == names_.size()) invalid("unknown parameter \"" + key + "\"");
            values_[i] = value;
            present_[i] = true;
        }
    } else {
        invalid("params must be an array or an object");
    }
    for (size_t i = 0; i < required; ++i) {
        if (!present_[i]) invalid("missing parameter " + names_[i]);
    }
}

const json& Params::operator[](size_t index) const {
    return values_[index];
}
bool Params::has(size_t index) const {
    return present_[index] && !values_[index].is_null();
}

Bytes parse_hex_param(const json& value, const std::string& name, size_t exact, size_t min,
                      size_t max) {
    if (!value.is_string()) invalid(name + ": expected a 0x-prefixed hex string");
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        invalid(name + ": expected a 0x-prefixed hex string");
    if (s.size() % 2 != 0) invalid(name + ": odd number of hex digits");
    const size_t n = (s.size() - 2) / 2;
    // Check the size before decoding so an oversized value costs nothing.
    if (exact != SIZE_MAX && n != exact)
        invalid(name + ": expected " + std::to_string(exact) + " bytes, got " + std::to_string(n));
    if (n < min) invalid(name + ": expected at least " + std::to_string(min) + " bytes");
    if (n > max) invalid(name + ": expected at most " + std::to_string(max) + " bytes");
    auto bytes = core::from_hex(s);
    if (!bytes) invalid(name + ": invalid hex digit");
    return std::move(bytes).value();
}

KeyTypeId parse_key_type_param(const json& value, const std::string& name) {
    if (!value.is_string()) invalid(name + ": expected a 4-character key type such as \"babe\"");
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() != 4)
        invalid(name + ": key type must be exactly 4 ASCII characters, got \"" +
                (s.size() <= 16 ? s : s.substr(0, 16) + "...") + "\"");
    KeyTypeId id{};
    for (size_t i = 0; i < 4; ++i) {
        const char c = s[i];
        if (c < 0x21 || c > 0x7e) invalid(name + ": key type must be printable ASCII");
        id[i] = static_cast<uint8_t>(c);
    }
    return id;
}

uint64_t parse_u64_param(const json& value, const std::string& name) {
    if (value.is_number_unsigned()) return value.get<uint64_t>();
    if (value.is_number_integer() && value.get<int64_t>() >= 0)
        return static_cast<uint64_t>(value.get<int64_t>());
    if (value.is_string()) {
        const std::string& s = value.get_ref<const std::string&>();
        if (!s.empty() && s.size() <= 20 &&
            s.find_first_not_of("0123456789") == std::string::npos) {
            errno = 0;
            char* end = nullptr;
            const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
            if (errno == 0 && end == s.c_str() + s.size()) return v;
        }
    }
    invalid(name + ": expected a non-negative integer (number or decimal string)");
}

Scheme parse_scheme_param(const json& value, const std::string& name) {
    if (value.is_string()) {
        if (auto scheme = core::scheme_from_name(value.get_ref<const std::string&>()))
            return *scheme;
    }
    invalid(name + ": scheme must be \"sr25519\", \"ed25519\" or \"ecdsa\"");
}

std::vector<std::pair<Bytes, KeyTypeId>> split_session_keys(ByteSpan blob) {
    if (blob.size() != kSessionKeysSize)
        invalid("sessionKeys: expected a " + std::to_string(kSessionKeysSize) +
                "-byte Kusama/Polkadot SessionKeys encoding (gran, babe, para, asgn, audi, beef), "
                "got " +
                std::to_string(blob.size()) + " bytes");
    std::vector<std::pair<Bytes, KeyTypeId>> keys;
    size_t offset = 0;
    for (const auto& slot : kSessionKeySlots) {
        const size_t n = core::public_key_size(slot.scheme);
        KeyTypeId id{};
        for (size_t i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(slot.key_type[i]);
        keys.emplace_back(Bytes(blob.begin() + static_cast<std::ptrdiff_t>(offset),
                                blob.begin() + static_cast<std::ptrdiff_t>(offset + n)),
                          id);
        offset += n;
    }
    return keys;
}

// ---- KeyService defaults for optional capabilities ------------------------------------

namespace {
[[noreturn]] void unsupported(const char* what) {
    throw ServiceError(rpc_error::kNotSupported,
                       std::string(what) + " is not supported by this key service");
}
}  // namespace

bool KeyService::sign_async(const KeyTypeId&, Scheme, ByteSpan, ByteSpan, Completion<Bytes>) {
    return false;
}
void KeyService::retire_key(const KeyTypeId&, Scheme, ByteSpan) {
    throw ServiceError(rpc_error::kNotSupported, "key retirement is not supported by this backend");
}

std::optional<int64_t> KeyService::last_signed_at(ByteSpan) {
    return std::nullopt;
}

bool KeyService::sr25519_vrf_sign_async(const KeyTypeId&, ByteSpan, const VrfSignData&,
                                        Completion<VrfSignature>) {
    return false;
}
bool KeyService::sign_typed_async(TypedPayload, const KeyTypeId&, ByteSpan, ByteSpan,
                                  Completion<SignedPayload>) {
    return false;
}

SignedPayload KeyService::sign_typed(TypedPayload, const KeyTypeId&, ByteSpan, ByteSpan) {
    unsupported("typed signing");
}
ProtectionPage KeyService::export_protection(uint64_t, uint32_t) {
    unsupported("protection export");
}
ProtectionImport KeyService::import_protection(ByteSpan) {
    unsupported("protection import");
}
std::vector<std::pair<KeyTypeId, bool>> KeyService::protection_policy() {
    unsupported("the protection policy");
}
void KeyService::set_protection_policy(const std::vector<std::pair<KeyTypeId, bool>>&) {
    unsupported("the protection policy");
}

void refresh_key_metrics(KeyService& service, Metrics& metrics,
                         const std::vector<KeyTypeId>& extra_types) {
    std::set<std::pair<KeyTypeId, Scheme>> seen;
    for (const auto& slot : kSessionKeySlots) {
        KeyTypeId id{};
        for (size_t i = 0; i < 4; ++i) id[i] = static_cast<uint8_t>(slot.key_type[i]);
        seen.insert({id, slot.scheme});
    }
    for (const auto& id : extra_types) {
        for (Scheme s : {Scheme::sr25519, Scheme::ed25519, Scheme::ecdsa}) seen.insert({id, s});
    }
    for (const auto& [id, scheme] : seen) {
        try {
            const auto keys = service.public_keys(id, scheme);
            metrics.set_key_count(key_type_string(id), core::scheme_name(scheme),
                                  static_cast<double>(keys.size()));
        } catch (const std::exception& e) {
            spdlog::debug("key count for {}/{} unavailable: {}", key_type_string(id),
                          core::scheme_name(scheme), e.what());
        }
    }
}

// ---- Methods --------------------------------------------------------------------------

void register_rpc_methods(RpcDispatcher& d, KeyService& ks, Metrics& metrics,
                          RpcMethodOptions options) {
    // Key types created through this process, for the key-count gauge.
    auto generated = std::make_shared<std::pair<std::mutex, std::vector<KeyTypeId>>>();
    auto refresh = [&ks, &metrics, generated]() {
        std::vector<KeyTypeId> extra;
        {
            std::lock_guard lock(generated->first);
            extra = generated->second;
        }
        refresh_key_metrics(ks, metrics, extra);
    };

    d.add("rpc_methods", wrap(metrics, [&d](const json& params, const ClientContext&) -> json {
              Params p(params, {}, 0);
              return {{"methods", d.methods()}};
          }));

    d.add(
        "author_rotateKeys",
        wrap(metrics, [&ks, refresh, options](const json& params, const ClientContext& c) -> json {
            Params p(params, {}, 0);
            Bytes blob = ks.rotate_session_keys();
            if (options.usage != nullptr) {
                // The newest set: signer_retireKeys keeps it (docs/protocol.md).
                std::vector<Bytes> keys;
                for (auto& [pk, kt] : split_session_keys(blob)) keys.push_back(pk);
                try {
                    options.usage->rotated(keys);
                } catch (const std::exception& e) {
                    spdlog::error("key usage: cannot record the rotated set: {}", e.what());
                }
            }
            spdlog::info("rotated session keys for {}", c.identity);
            refresh();
            return core::to_hex(blob);
        }));

    d.add("author_hasSessionKeys",
          wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {"sessionKeys"}, 1);
              // A wrong length is reported by split_session_keys with the layout.
              Bytes blob = parse_hex_param(p[0], "sessionKeys", SIZE_MAX, 0, 4096);
              return ks.has_session_keys(blob);
          }));

    d.add("author_hasKey", wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {"publicKey", "keyType"}, 2);
              Bytes pk = parse_hex_param(p[0], "publicKey", SIZE_MAX, 1, 128);
              KeyTypeId kt = parse_key_type_param(p[1], "keyType");
              return ks.has_key(pk, kt);
          }));

    d.add("keystore_publicKeys",
          wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {"keyType", "scheme"}, 2);
              KeyTypeId kt = parse_key_type_param(p[0], "keyType");
              Scheme scheme = parse_scheme_param(p[1], "scheme");
              json out = json::array();
              for (const auto& pk : ks.public_keys(kt, scheme)) out.push_back(core::to_hex(pk));
              return out;
          }));

    d.add("keystore_generateNew",
          wrap(metrics,
               [&ks, options, generated, refresh](const json& params,
                                                  const ClientContext& c) -> json {
                   Params p(params, {"keyType", "scheme", "seed"}, 2);
                   KeyTypeId kt = parse_key_type_param(p[0], "keyType");
                   Scheme scheme = parse_scheme_param(p[1], "scheme");
                   std::optional<std::string> seed;
                   if (p.has(2)) {
                       if (!p[2].is_string()) invalid("seed: expected a secret URI string or null");
                       if (!options.allow_dev_seeds)
                           throw ServiceError(rpc_error::kPolicyRefused,
                                              "seed: development seeds are disabled on this signer "
                                              "(keys are generated inside the TEE)",
                                              "dev_seed");
                       seed = p[2].get<std::string>();
                   }
                   Bytes pk = ks.generate_new(kt, scheme, seed);
                   spdlog::info("generated {} key of type {} for {}", core::scheme_name(scheme),
                                key_type_string(kt), c.identity);
                   {
                       std::lock_guard lock(generated->first);
                       auto& v = generated->second;
                       if (std::find(v.begin(), v.end(), kt) == v.end()) v.push_back(kt);
                   }
                   refresh();
                   return core::to_hex(pk);
               }));

    // The signing methods a node calls most also run without blocking an RPC
    // I/O thread (add_signing_method): no hand-off to a worker and back.
    struct SignRequest {
        KeyTypeId key_type;
        Scheme scheme;
        Bytes public_key;
        Bytes message;
    };
    add_signing_method<Bytes>(
        d, metrics, options.usage, "keystore_sign",
        [options](const json& params) {
            Params p(params, {"keyType", "scheme", "public", "message"}, 4);
            SignRequest r;
            r.key_type = parse_key_type_param(p[0], "keyType");
            r.scheme = parse_scheme_param(p[1], "scheme");
            r.public_key = parse_hex_param(p[2], "public", core::public_key_size(r.scheme));
            r.message = parse_hex_param(p[3], "message", SIZE_MAX, 0, options.max_message_bytes);
            return r;
        },
        [&ks](const SignRequest& r) {
            return ks.sign(r.key_type, r.scheme, r.public_key, r.message);
        },
        [&ks](const SignRequest& r, Completion<Bytes> done) {
            return ks.sign_async(r.key_type, r.scheme, r.public_key, r.message, std::move(done));
        },
        [](const Bytes& signature) -> json { return core::to_hex(signature); });

    struct VrfRequest {
        KeyTypeId key_type;
        Bytes public_key;
        VrfSignData data;
    };
    add_signing_method<VrfSignature>(
        d, metrics, options.usage, "keystore_sr25519VrfSign",
        [](const json& params) {
            Params p(params, {"keyType", "public", "transcript"}, 3);
            VrfRequest r;
            r.key_type = parse_key_type_param(p[0], "keyType");
            r.public_key = parse_hex_param(p[1], "public", 32);
            r.data = parse_vrf_sign_data(p[2], "transcript");
            return r;
        },
        [&ks](const VrfRequest& r) {
            return ks.sr25519_vrf_sign(r.key_type, r.public_key, r.data);
        },
        [&ks](const VrfRequest& r, Completion<VrfSignature> done) {
            return ks.sr25519_vrf_sign_async(r.key_type, r.public_key, r.data, std::move(done));
        },
        [](const VrfSignature& sig) -> json {
            Bytes encoded(sig.pre_output.begin(), sig.pre_output.end());
            encoded.insert(encoded.end(), sig.proof.begin(), sig.proof.end());
            return {{"preOutput", core::to_hex(sig.pre_output)},
                    {"proof", core::to_hex(sig.proof)},
                    {"signature", core::to_hex(encoded)}};
        });

    d.add("keystore_ecdsaSignPrehashed",
          wrap(metrics, [&ks, options](const json& params, const ClientContext&) -> json {
              Params p(params, {"keyType", "public", "prehash"}, 3);
              KeyTypeId kt = parse_key_type_param(p[0], "keyType");
              Bytes pk = parse_hex_param(p[1], "public", 33);
              Bytes prehash = parse_hex_param(p[2], "prehash", 32);
              ByteArray<32> h{};
              std::copy(prehash.begin(), prehash.end(), h.begin());
              json out = core::to_hex(ks.ecdsa_sign_prehashed(kt, pk, h));
              if (options.usage != nullptr) options.usage->signed_with(pk);
              return out;
          }));

    d.add("keystore_hasKeys",
          wrap(metrics, [&ks, options](const json& params, const ClientContext&) -> json {
              Params p(params, {"keys"}, 1);
              const json& list = p[0];
              if (!list.is_array()) invalid("keys: expected an array of [public, keyType] pairs");
              if (list.size() > options.max_has_keys)
                  invalid("keys: at most " + std::to_string(options.max_has_keys) + " entries");
              std::vector<std::pair<Bytes, KeyTypeId>> keys;
              for (size_t i = 0; i < list.size(); ++i) {
                  const std::string name = "keys[" + std::to_string(i) + "]";
                  if (!list[i].is_array() || list[i].size() != 2)
                      invalid(name + ": expected a [public, keyType] pair");
                  keys.emplace_back(parse_hex_param(list[i][0], name + "[0]", SIZE_MAX, 1, 128),
                                    parse_key_type_param(list[i][1], name + "[1]"));
              }
              return ks.has_keys(keys);
          }));

    // ---- Typed signing under slashing protection ---------------------------------
    struct Typed {
        const char* method;
        TypedPayload kind;
        const char* payload_name;
        size_t public_size;
    };
    for (const Typed& t :
         {Typed{"signer_signGrandpaVote", TypedPayload::grandpa_vote, "payload", 32},
          Typed{"signer_signBabeHeader", TypedPayload::babe_header, "header", 32},
          Typed{"signer_signBeefyCommitment", TypedPayload::beefy_commitment, "commitment", 33},
          Typed{"signer_signParaStatement", TypedPayload::para_statement, "payload", 32}}) {
        struct TypedRequest {
            KeyTypeId key_type;
            Bytes public_key;
            Bytes payload;
        };
        add_signing_method<SignedPayload>(
            d, metrics, options.usage, t.method,
            [t, options](const json& params) {
                Params p(params, {"keyType", "public", t.payload_name}, 3);
                TypedRequest r;
                r.key_type = parse_key_type_param(p[0], "keyType");
                r.public_key = parse_hex_param(p[1], "public", t.public_size);
                r.payload =
                    parse_hex_param(p[2], t.payload_name, SIZE_MAX, 1, options.max_message_bytes);
                return r;
            },
            [&ks, t](const TypedRequest& r) {
                return ks.sign_typed(t.kind, r.key_type, r.public_key, r.payload);
            },
            [&ks, t](const TypedRequest& r, Completion<SignedPayload> done) {
                return ks.sign_typed_async(t.kind, r.key_type, r.public_key, r.payload,
                                           std::move(done));
            },
            [](const SignedPayload& signed_payload) -> json {
                return {{"signature", core::to_hex(signed_payload.signature)},
                        {"payloadHash", core::to_hex(signed_payload.payload_hash)}};
            });
    }

    // ---- Protection history and policy ----------------------------------------------
    d.add("signer_exportProtection",
          wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {"cursor", "maxBytes"}, 0);
              uint64_t cursor = 0;
              if (p.has(0)) cursor = parse_u64_param(p[0], "cursor");
              uint32_t max_bytes = 0;
              if (p.has(1)) {
                  const uint64_t v = parse_u64_param(p[1], "maxBytes");
                  if (v > UINT32_MAX) invalid("maxBytes: too large");
                  max_bytes = static_cast<uint32_t>(v);
              }
              ProtectionPage page = ks.export_protection(cursor, max_bytes);
              return {{"document", core::to_hex(page.document)},
                      {"next", page.next ? json(std::to_string(*page.next)) : json(nullptr)}};
          }));

    d.add("signer_importProtection",
          wrap(metrics, [&ks](const json& params, const ClientContext& c) -> json {
              Params p(params, {"document"}, 1);
              Bytes document = parse_hex_param(p[0], "document", SIZE_MAX, 1, 1 << 20);
              ProtectionImport r = ks.import_protection(document);
              spdlog::warn(
                  "protection history imported by {}: {} items, {} records added, {} "
                  "conflicting, {} watermarks raised",
                  c.identity, r.items, r.records_added, r.records_conflicting, r.watermarks_raised);
              return {{"items", r.items},
                      {"recordsAdded", r.records_added},
                      {"recordsConflicting", r.records_conflicting},
                      {"watermarksRaised", r.watermarks_raised}};
          }));

    auto policy_json = [](const std::vector<std::pair<KeyTypeId, bool>>& entries) {
        json out = json::array();
        for (const auto& [kt, allow] : entries)
            out.push_back({{"keyType", key_type_string(kt)}, {"allowOpaque", allow}});
        return out;
    };
    d.add("signer_protectionPolicy",
          wrap(metrics, [&ks, policy_json](const json& params, const ClientContext&) -> json {
              Params p(params, {}, 0);
              return policy_json(ks.protection_policy());
          }));

    d.add("signer_setProtectionPolicy",
          wrap(metrics, [&ks, policy_json](const json& params, const ClientContext& c) -> json {
              Params p(params, {"entries"}, 1);
              const json& list = p[0];
              if (!list.is_array())
                  invalid("entries: expected an array of {keyType, allowOpaque} objects");
              if (list.size() > 64) invalid("entries: at most 64 entries");
              std::vector<std::pair<KeyTypeId, bool>> entries;
              for (size_t i = 0; i < list.size(); ++i) {
                  const std::string name = "entries[" + std::to_string(i) + "]";
                  const json& e = list[i];
                  if (!e.is_object() || e.size() != 2 || !e.contains("keyType") ||
                      !e.contains("allowOpaque"))
                      invalid(name + ": expected {\"keyType\": \"babe\", \"allowOpaque\": bool}");
                  if (!e["allowOpaque"].is_boolean())
                      invalid(name + ".allowOpaque: expected a bool");
                  entries.emplace_back(parse_key_type_param(e["keyType"], name + ".keyType"),
                                       e["allowOpaque"].get<bool>());
              }
              ks.set_protection_policy(entries);
              json now = policy_json(ks.protection_policy());
              spdlog::warn("opaque-signing policy changed by {}: {}", c.identity, now.dump());
              return now;
          }));

    d.add(
        "signer_retireKeys",
        wrap(metrics, [&ks, options, refresh](const json& params, const ClientContext& c) -> json {
            return retire_keys(ks, options.usage, params, c, refresh);
        }));

    d.add("signer_attest", wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {"nonce"}, 1);
              Bytes nonce = parse_hex_param(p[0], "nonce", SIZE_MAX, 0, 64);
              Attestation a = ks.attest(nonce);
              json out = {{"kind", a.kind},
                          {"statement", core::to_hex(a.statement)},
                          {"signature", core::to_hex(a.signature)},
                          {"attestationKey", core::to_hex(a.attestation_public_key)},
                          {"reportData", core::to_hex(a.report_data)},
                          {"details", a.details}};
              if (a.tee) out["tee"] = tee_evidence_json(*a.tee, a.report_data);
              if (!a.tee_unavailable.empty()) out["teeUnavailable"] = a.tee_unavailable;
              return out;
          }));

    d.add("signer_health", wrap(metrics, [&ks](const json& params, const ClientContext&) -> json {
              Params p(params, {}, 0);
              KeyServiceHealth h = ks.health();
              json out = {{"status", h.ok ? "ok" : "unhealthy"},
                          {"tee", h.backend},
                          {"teeRestarts", h.restarts}};
              if (!h.detail.empty()) out["detail"] = h.detail;
              return out;
          }));
}

}  // namespace teesigner::signerd
