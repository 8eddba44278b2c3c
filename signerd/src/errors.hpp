// The kinds of error signerd throws, besides ServiceError (an error answer to
// a JSON-RPC call, key_service.hpp) and ProtectionDbError (the host-side
// protection database, protection_db.hpp). Each is a std::runtime_error whose
// what() is the whole operator-facing message: code that only reports the
// message catches std::exception (as `serve` does), code that must tell the
// kinds apart catches the kind.
#pragma once

#include <stdexcept>

namespace teesigner::signerd {

/// A setting that cannot be used: the config file and flags, the tokens file,
/// the access lists, the log settings, the TLS files, a listener that would
/// be unsafe, the TEE backend's settings.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Something the service needs to start is not there or cannot be had: the
/// data directory, a listening socket, the TEE (or a build without one).
class StartupError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A state file of the service (the key usage record) cannot be read,
/// parsed or written.
class StateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A library call that does not fail in practice did (e.g. OpenSSL's SHA-256).
class InternalError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace teesigner::signerd
