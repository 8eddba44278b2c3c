// Test helper: runs `tee-signer serve` (soft TEE, fresh temporary data
// directory) as a child process, waits for "tee-signer ready", and stops it
// with SIGTERM.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace teesigner::testing {

namespace fs = std::filesystem;

/// A TCP port that was free a moment ago (the signer binds it right after).
inline uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("cannot find a free port");
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const fs::path& p, const std::string& text, fs::perms perms) {
    std::ofstream(p, std::ios::binary) << text;
    fs::permissions(p, perms);
}

/// A fresh directory under $TMPDIR, removed in the destructor.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "ts-client-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

/// Run a command, return its exit status (-1 if it could not run); output to `log`.
inline int run_command(const std::vector<std::string>& argv, const fs::path& log) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SignerProcess {
  public:
    /// Start `cli serve <args>` with a data directory under `dir`.
    SignerProcess(const std::string& cli, const fs::path& dir, std::vector<std::string> args)
        : log_(dir / "signer.log") {
        std::vector<std::string> argv = {cli, "serve", "--data-dir", (dir / "data").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> cargs;
        for (auto& a : argv) cargs.push_back(a.data());
        cargs.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = posix_spawn(&pid_, cargs[0], &actions, nullptr, cargs.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("cannot start " + cli);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (read_file(log_).find("tee-signer ready") == std::string::npos) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("the signer exited early:\n" + read_file(log_));
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("the signer was not ready in 60 s:\n" + read_file(log_));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ~SignerProcess() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 400 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
    SignerProcess(const SignerProcess&) = delete;
    SignerProcess& operator=(const SignerProcess&) = delete;

    std::string log() const { return read_file(log_); }

  private:
    fs::path log_;
    pid_t pid_ = -1;
};

}  // namespace teesigner::testing
