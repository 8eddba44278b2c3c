#include "refusal.hpp"

#include <string>

namespace teesigner::signerd {
namespace {

namespace prot = core::protection;

std::string position_text(prot::Rule rule, const prot::Position& p) {
    switch (rule) {
        case prot::Rule::grandpa:
            return "set id " + std::to_string(p.major) + ", round " + std::to_string(p.minor);
        case prot::Rule::babe:
            return "slot " + std::to_string(p.major);
        case prot::Rule::beefy:
            return "set id " + std::to_string(p.major) + ", block " + std::to_string(p.minor);
        case prot::Rule::para:
            return "session " + std::to_string(p.major);
        case prot::Rule::none:
            break;
    }
    return "(" + std::to_string(p.major) + ", " + std::to_string(p.minor) + ")";
}

}  // namespace

ServiceError refusal_error(const prot::Refusal& r) {
    const std::string code = prot::refusal_code(r);
    const std::string rule_name = prot::rule_name(r.rule);
    nlohmann::json data = {{"code", code},
                           {"reason", prot::reason_name(r.reason)},
                           {"rule", rule_name},
                           {"position", {r.position.major, r.position.minor}}};
    std::string message;
    switch (r.reason) {
        case prot::Reason::conflict:
            data["earlier"] = {{"kind", r.earlier_kind},
                               {"sides", r.earlier_sides},
                               {"subject", core::to_hex(r.subject)},
                               {"number", r.earlier_number},
                               {"payloadHash", core::to_hex(r.earlier_payload_hash)}};
            message = "slashing protection: refused (" + code + "): a different " + rule_name +
                      " payload was already signed at " + position_text(r.rule, r.position);
            break;
        case prot::Reason::below_watermark:
            data["watermark"] = {r.watermark.major, r.watermark.minor};
            message = "slashing protection: refused (below_watermark): " +
                      position_text(r.rule, r.position) + " is older than the key's " + rule_name +
                      " history (" + position_text(r.rule, r.watermark) + ")";
            break;
        case prot::Reason::opaque_refused: {
            const std::string kt(reinterpret_cast<const char*>(r.key_type.data()), 4);
            data["keyType"] = kt;
            return ServiceError(rpc_error::kPolicyRefused,
                                "opaque signing is refused for key type \"" + kt +
                                    "\" by the signer's policy: the bytes are not a payload the "
                                    "signer can protect (use the typed signer_sign* method)",
                                "opaque_refused", std::move(data));
        }
        case prot::Reason::malformed:
            message = "slashing protection: refused (malformed_payload): the bytes claim to be a " +
                      rule_name + " payload but do not decode";
            break;
        case prot::Reason::capacity:
            message = "slashing protection: refused (capacity): the " + rule_name + " history at " +
                      position_text(r.rule, r.position) + " is full";
            break;
    }
    return ServiceError(rpc_error::kSlashingRefused, message, code, std::move(data));
}

}  // namespace teesigner::signerd
