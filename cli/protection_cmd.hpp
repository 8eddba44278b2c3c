// tee-signer protection export|import|inspect|convert: the slashing-protection
// history of a signer in the JSON interchange format of
// docs/protection-interchange.md, converted to and from the binary Document the
// signer TA exports and imports (core::protection::encode_document).
//
// Exit codes: 0 success; 1 the signer could not be reached or refused the
// request; 2 bad input (the message names the file and the JSON location).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "teesigner/client/client.hpp"
#include "teesigner/core/protection.hpp"

namespace teesigner::cli {

/// How to reach a running signer (shared by protection and simulate).
struct RpcOptions {
    std::string rpc_url;      // http(s)://host:port
    std::string unix_socket;  // path of the signer's Unix socket
    std::string token_file;   // file holding the bearer token (first line)
    std::string ca_file;      // https: trust anchor
    std::string cert_file;    // https: client certificate (mTLS)
    std::string key_file;     // https: client key (mTLS)
};

/// Registers --rpc-url, --unix-socket, --token-file, --ca-file, --cert-file, --key-file.
void add_rpc_options(CLI::App* cmd, RpcOptions& options);
/// The client endpoint for `options`; the default is http://127.0.0.1:9955.
/// Throws CliError (exit 2) for contradictory options or an unreadable token file.
client::Endpoint make_endpoint(const RpcOptions& options);

/// The JSON interchange form (docs/protection-interchange.md), version 1.
namespace interchange {

using History = core::protection::History;
using ordered_json = nlohmann::ordered_json;

/// A JSON document of `items` (merged first; see merge()). `exported_at` is an
/// RFC 3339 time, or empty to leave the field out. Throws CliError when an item
/// cannot be represented (a record the mapping does not allow).
ordered_json to_json(const std::vector<History>& items, const std::string& exported_at);

/// Validates a JSON document strictly and converts every key entry into one
/// History (its watermark and records). Throws CliError (exit 2) naming the
/// location of the first problem, e.g. "keys[1].records[3].round: ...".
std::vector<History> from_json(const ordered_json& document);

/// Parses JSON text, refusing duplicate object members. `source` names the input
/// in error messages. Throws CliError (exit 2).
ordered_json parse_text(const std::string& text, const std::string& source);

/// Groups items by (rule, public key): maximum watermark, union of the records
/// at or above it (sorted by position, exact duplicates dropped). How export
/// pages (where a para key appears once per session bucket) become one entry.
std::vector<History> merge(std::vector<History> items);

/// Binary Documents of at most `max_bytes` each holding all of `items` (an item
/// with many records is split into several items with the same watermark).
std::vector<core::Bytes> to_documents(const std::vector<History>& items, size_t max_bytes);

}  // namespace interchange

struct ProtectionExportOptions {
    RpcOptions rpc;
    std::string out;  // empty or "-": stdout
};

struct ProtectionImportOptions {
    RpcOptions rpc;
    std::string file;  // "-": stdin
    std::string output_type = "text";
};

struct ProtectionInspectOptions {
    std::string file;  // JSON interchange, or a binary Document (raw or hex)
    std::string output_type = "text";
};

struct ProtectionConvertOptions {
    std::string file;
    std::string to = "json";  // json or hex (binary Document)
    std::string out;          // empty or "-": stdout
};

int run_protection_export(const ProtectionExportOptions& options);
int run_protection_import(const ProtectionImportOptions& options);
int run_protection_inspect(const ProtectionInspectOptions& options);
int run_protection_convert(const ProtectionConvertOptions& options);

/// Registers `protection` with its four subcommands; `dispatch` runs the parsed
/// one (returns -1 when `protection` was not given).
class ProtectionCommand {
  public:
    explicit ProtectionCommand(CLI::App& app);
    // CLI11 holds references to the option members.
    ProtectionCommand(const ProtectionCommand&) = delete;
    ProtectionCommand& operator=(const ProtectionCommand&) = delete;
    CLI::App* subcommand() const noexcept { return sub_; }
    int dispatch() const;

  private:
    CLI::App* sub_;
    CLI::App *export_, *import_, *inspect_, *convert_;
    ProtectionExportOptions export_options_;
    ProtectionImportOptions import_options_;
    ProtectionInspectOptions inspect_options_;
    ProtectionConvertOptions convert_options_;
};

}  // namespace teesigner::cli
