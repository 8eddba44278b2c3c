// The JSON-RPC methods signerd serves (see docs/protocol.md), with strict
// parameter validation: every malformed parameter is answered with -32602
// and a message naming the parameter and the problem.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "jsonrpc.hpp"
#include "key_service.hpp"
#include "key_usage.hpp"
#include "metrics.hpp"

namespace teesigner::signerd {

struct RpcMethodOptions {
    /// keystore_generateNew accepts a `seed` (secret URI). Development only:
    /// the seed travels over the RPC connection.
    bool allow_dev_seeds = false;
    /// Largest message keystore_sign accepts (bytes, after hex decoding).
    size_t max_message_bytes = 256 * 1024;
    /// Largest keystore_hasKeys list.
    size_t max_has_keys = 1024;
    /// When each key last signed and the newest rotated set (not owned; must
    /// outlive the dispatcher). Every released signature or VRF is recorded
    /// here; signer_retireKeys needs it (without it: -32005).
    KeyUsage* usage = nullptr;
};

/// Register author_rotateKeys, author_hasSessionKeys, author_hasKey,
/// rpc_methods, keystore_publicKeys, keystore_generateNew, keystore_sign,
/// keystore_sr25519VrfSign, keystore_ecdsaSignPrehashed, keystore_hasKeys,
/// signer_attest, signer_health, the typed signer_signGrandpaVote,
/// signer_signBabeHeader, signer_signBeefyCommitment, signer_signParaStatement,
/// and signer_exportProtection, signer_importProtection,
/// signer_protectionPolicy, signer_setProtectionPolicy, signer_retireKeys. `service` and
/// `metrics` must outlive the dispatcher.
void register_rpc_methods(RpcDispatcher& dispatcher, KeyService& service, Metrics& metrics,
                          RpcMethodOptions options = {});

/// Update teesigner_keys for the session key types and any extra types.
void refresh_key_metrics(KeyService& service, Metrics& metrics,
                         const std::vector<KeyTypeId>& extra_types = {});

// ---- Parameter helpers (exposed for tests) -------------------------------------

/// Positional or named parameters against a fixed list of names. Throws
/// ServiceError(kInvalidParams) for too many positional parameters, unknown
/// names, or a missing required one.
class Params {
  public:
    Params(const json& params, std::vector<std::string> names, size_t required);
    /// The parameter, or nullptr when absent (only for optional ones).
    const json& operator[](size_t index) const;
    bool has(size_t index) const;
    const std::string& name(size_t index) const { return names_[index]; }

  private:
    std::vector<std::string> names_;
    std::vector<json> values_;
    std::vector<bool> present_;
};

/// 0x-prefixed hex string of exactly `exact` bytes (or, when exact == npos,
/// between min and max bytes).
Bytes parse_hex_param(const json& value, const std::string& name, size_t exact, size_t min = 0,
                      size_t max = SIZE_MAX);
/// Exactly four printable ASCII characters.
KeyTypeId parse_key_type_param(const json& value, const std::string& name);
/// A u64 as a JSON number or a decimal string (JavaScript numbers stop at 2^53).
uint64_t parse_u64_param(const json& value, const std::string& name);
/// "sr25519", "ed25519" or "ecdsa".
Scheme parse_scheme_param(const json& value, const std::string& name);

}  // namespace teesigner::signerd
