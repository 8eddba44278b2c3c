// Logging setup for signerd: spdlog to stderr as human-readable text or as
// one JSON object per line (for journald/Loki/ELK). Callers must never log
// secrets: no tokens, seeds, request parameters or bodies; only methods,
// identities, result codes, public keys and durations.
#pragma once

#include <string>

namespace teesigner::signerd {

/// Install the default logger. `format` is "text" or "json"; `level` one of
/// trace, debug, info, warn, error, critical, off. Throws ConfigError
/// (errors.hpp) on unknown values.
void setup_logging(const std::string& format, const std::string& level);

/// JSON string escaping as used by the JSON log format (exposed for tests).
std::string json_escape(const std::string& text);

}  // namespace teesigner::signerd
