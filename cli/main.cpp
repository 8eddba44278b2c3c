// tee-signer: the host-side key tool. Its key commands mirror subkey's verbs,
// flags and output (inspect, generate, sign, verify); see commands.hpp.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "attest_cmd.hpp"
#include "commands.hpp"
#include "keys_cmd.hpp"
#include "protection_cmd.hpp"
#include "serve.hpp"
#include "session_keys.hpp"
#include "simulate.hpp"
#include "teesigner/core/random.hpp"

namespace {

using namespace teesigner::cli;

constexpr const char* kVersion = "0.1.0";

// Errors are always exactly one line on stderr.
int fail(std::string message, int code) {
    for (char& c : message)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return code;
}

void add_common(CLI::App* cmd, CommonOptions& common, bool with_output, bool with_network,
                bool with_password) {
    cmd->add_option("--scheme", common.scheme,
                    "The cryptography scheme: sr25519 (default), ed25519 or ecdsa")
        ->type_name("SCHEME");
    if (with_network) {
        cmd->add_option_function<std::string>(
               "-n,--network", [&common](const std::string& v) { common.network = v; },
               "Network for SS58 addresses: substrate (default), kusama, polkadot or a prefix")
            ->type_name("NETWORK");
    }
    if (with_output) {
        cmd->add_option("--output-type", common.output_type,
                        "Output format: text (default) or json")
            ->type_name("FORMAT");
    }
    if (with_password) {
        cmd->add_option_function<std::string>(
               "--password", [&common](const std::string& v) { common.password = v; },
               "Password for the secret phrase (overrides a ///password in the URI)")
            ->type_name("PASSWORD");
        cmd->add_option_function<std::string>(
               "--password-filename",
               [&common](const std::string& v) { common.password_filename = v; },
               "File holding the password (its whole content, as subkey reads it)")
            ->type_name("PATH");
    }
}

int run(int argc, char** argv) {
    CLI::App app{
        "tee-signer: keys and signatures for Kusama/Polkadot validators (subkey-compatible)",
        "tee-signer"};
    app.set_version_flag("--version", std::string("tee-signer ") + kVersion);
    app.require_subcommand(1);

    InspectOptions inspect;
    auto* inspect_cmd = app.add_subcommand(
        "inspect", "Gets a public key and a SS58 address from the provided Secret URI");
    add_common(inspect_cmd, inspect.common, true, true, true);
    inspect_cmd
        ->add_option_function<std::string>(
            "uri", [&inspect](const std::string& v) { inspect.uri = v; },
            "A secret phrase, secret URI (with derivation paths and password), SS58 address or, "
            "with --public, a hex public key. A file name means the file's content. If omitted, "
            "it is read from stdin")
        ->type_name("URI");
    inspect_cmd->add_flag("--public", inspect.public_key, "The URI is a hex-encoded public key");

    GenerateOptions generate;
    auto* generate_cmd = app.add_subcommand("generate", "Generate a random account");
    add_common(generate_cmd, generate.common, true, true, true);
    generate_cmd
        ->add_option("-w,--words", generate.words,
                     "The number of words in the phrase: 12 (default), 15, 18, 21 or 24")
        ->type_name("WORDS");

    SignOptions sign;
    auto* sign_cmd = app.add_subcommand(
        "sign", "Sign a message, given with --message or on stdin, with a given secret key");
    add_common(sign_cmd, sign.common, false, false, true);
    sign_cmd
        ->add_option_function<std::string>(
            "--suri", [&sign](const std::string& v) { sign.suri = v; },
            "The secret key URI. A file name means the file's content. If omitted, it is read "
            "from stdin")
        ->type_name("SURI");
    sign_cmd
        ->add_option_function<std::string>(
            "--message", [&sign](const std::string& v) { sign.message = v; },
            "Message to sign; if omitted, all of stdin")
        ->type_name("MESSAGE");
    sign_cmd->add_flag("--hex", sign.hex, "The message is hex-encoded");

    VerifyOptions verify;
    auto* verify_cmd = app.add_subcommand(
        "verify", "Verify a signature for a message, given with --message or on stdin");
    add_common(verify_cmd, verify.common, false, false, false);
    verify_cmd->add_option("signature", verify.signature, "Signature, hex-encoded")
        ->required()
        ->type_name("SIGNATURE");
    verify_cmd
        ->add_option("public", verify.public_uri,
                     "The public key: hex, or an SS58 address (ecdsa: the 33-byte key's SS58)")
        ->required()
        ->type_name("PUBLIC");
    verify_cmd
        ->add_option_function<std::string>(
            "--message", [&verify](const std::string& v) { verify.message = v; },
            "Message to verify; if omitted, all of stdin")
        ->type_name("MESSAGE");
    verify_cmd->add_flag("--hex", verify.hex, "The message is hex-encoded");

    // The signing service (signerd/): JSON-RPC over HTTP, WebSocket and a Unix socket.
    teesigner::signerd::ServeCommand serve(app);

    // A client of that service: new session keys and their session.setKeys call.
    SessionKeysOptions session_keys;
    auto* session_keys_cmd = app.add_subcommand(
        "session-keys",
        "Rotate a running signer's session keys (author_rotateKeys) and print them with the "
        "session.setKeys call data to submit");
    session_keys_cmd
        ->add_option("-n,--network", session_keys.network,
                     "Network whose session.setKeys to encode: kusama (default) or polkadot")
        ->type_name("NETWORK");
    session_keys_cmd
        ->add_option("--rpc", session_keys.rpc,
                     "The signer: http://host:port, https://host:port or unix:/path/to/socket "
                     "(default http://127.0.0.1:9955/)")
        ->type_name("URL");
    session_keys_cmd
        ->add_option("--ca-file", session_keys.ca_file,
                     "https: CA certificate(s) that signed the signer's certificate "
                     "(PEM; default: the system's CAs)")
        ->type_name("FILE");
    session_keys_cmd
        ->add_option("--cert,--cert-file", session_keys.cert_file,
                     "https: client certificate for mutual TLS (PEM)")
        ->type_name("FILE");
    session_keys_cmd
        ->add_option("--key,--key-file", session_keys.key_file,
                     "https: private key of --cert (PEM)")
        ->type_name("FILE");
    session_keys_cmd
        ->add_option("--token-file", session_keys.token_file,
                     "File whose first line is the bearer token (default: "
                     "$TS_SIGNER_TOKEN, if set)")
        ->type_name("FILE");
    session_keys_cmd
        ->add_option("--output-type", session_keys.output_type,
                     "Output format: text (default) or json")
        ->type_name("FORMAT");
    session_keys_cmd
        ->add_option_function<unsigned>(
            "--timeout",
            [&session_keys](unsigned seconds) {
                if (seconds == 0 || seconds > 86400)
                    throw CLI::ValidationError("--timeout", "must be 1 ... 86400 seconds");
                session_keys.timeout_ms = seconds * 1000;
            },
            "Seconds to wait for the signer's answer (default 30)")
        ->type_name("SECONDS");

    // Slashing-protection history (export/import/inspect/convert) and the
    // two-node equivocation simulation, both clients of a running signer.
    ProtectionCommand protection(app);
    SimulateCommand simulate(app);
    // The keys a signer holds: list, and retire an old session's (signer_retireKeys).
    KeysCommand keys(app);
    // Attestation evidence, verified on the operator's side.
    VerifyAttestationCommand verify_attestation(app);

    // CLI11 would report a misspelt command as a missing one; name it instead.
    if (argc > 1 && argv[1][0] != '-' &&
        !(inspect_cmd->check_name(argv[1]) || generate_cmd->check_name(argv[1]) ||
          sign_cmd->check_name(argv[1]) || verify_cmd->check_name(argv[1]) ||
          serve.subcommand()->check_name(argv[1]) || session_keys_cmd->check_name(argv[1]) ||
          protection.subcommand()->check_name(argv[1]) ||
          simulate.subcommand()->check_name(argv[1]) || keys.subcommand()->check_name(argv[1]) ||
          verify_attestation.subcommand()->check_name(argv[1])))
        return fail(std::string("unknown command '") + argv[1] +
                        "' (expected serve, session-keys, keys, protection, simulate, "
                        "verify-attestation, inspect, generate, sign or verify)",
                    2);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return fail(std::string(e.what()) + " (see tee-signer --help)", 2);
    }

    if (inspect_cmd->parsed()) return run_inspect(inspect);
    if (generate_cmd->parsed()) return run_generate(generate);
    if (sign_cmd->parsed()) return run_sign(sign);
    if (verify_cmd->parsed()) return run_verify(verify);
    if (serve.parsed()) return serve.run();
    if (session_keys_cmd->parsed()) return run_session_keys(session_keys);
    if (protection.subcommand()->parsed()) return protection.dispatch();
    if (simulate.parsed()) return simulate.run();
    if (keys.subcommand()->parsed()) return keys.dispatch();
    if (verify_attestation.parsed()) return verify_attestation.run();
    return fail("no command given (see tee-signer --help)", 2);
}

void sodium_random(uint8_t* out, size_t len) {
    randombytes_buf(out, len);
}

}  // namespace

int main(int argc, char** argv) {
    if (sodium_init() < 0) return fail("libsodium failed to initialise", 2);
    teesigner::core::set_random_source(sodium_random);
    try {
        return run(argc, argv);
    } catch (const CliError& e) {
        return fail(e.what(), e.exit_code());
    } catch (const std::exception& e) {
        return fail(std::string("unexpected failure: ") + e.what(), 2);
    } catch (...) {
        return fail("unexpected failure", 2);
    }
}
