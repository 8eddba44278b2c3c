// A scratch storage directory for the soft TEE's sealed storage in fuzz
// targets, with a snapshot of its files that is restored before every input so
// that each input starts from the same state (and a crash replays exactly).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace teesigner::fuzz {

using FileMap = std::map<std::string, std::vector<uint8_t>>;

/// A fresh directory on tmpfs when available ($TS_FUZZ_TMPDIR, /dev/shm, $TMPDIR, /tmp).
inline std::string make_scratch_dir() {
    std::vector<std::string> bases;
    if (const char* e = std::getenv("TS_FUZZ_TMPDIR")) bases.emplace_back(e);
    bases.emplace_back("/dev/shm");
    if (const char* e = std::getenv("TMPDIR")) bases.emplace_back(e);
    bases.emplace_back("/tmp");
    for (const auto& base : bases) {
        std::string tmpl = base + "/ts-fuzz-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (mkdtemp(buf.data()) != nullptr) return std::string(buf.data());
    }
    std::fprintf(stderr, "cannot create a scratch directory\n");
    std::abort();
}

inline bool read_whole(const std::string& path, std::vector<uint8_t>& out) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    out.clear();
    uint8_t buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + r);
    close(fd);
    return r == 0;
}

inline bool write_whole(const std::string& path, const uint8_t* data, size_t n) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = true;
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w <= 0) {
            ok = false;
            break;
        }
        data += w;
        n -= static_cast<size_t>(w);
    }
    close(fd);
    return ok;
}

/// Regular files of `dir` (except the lock file), sorted by name.
inline std::vector<std::string> list_files(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || n == ".lock") continue;
        names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

inline FileMap take_snapshot(const std::string& dir) {
    FileMap files;
    for (const auto& n : list_files(dir)) read_whole(dir + "/" + n, files[n]);
    return files;
}

/// Make `dir` hold exactly `files` (plus the lock file).
inline void restore_snapshot(const std::string& dir, const FileMap& files) {
    for (const auto& n : list_files(dir))
        if (files.count(n) == 0) unlink((dir + "/" + n).c_str());
    for (const auto& [n, data] : files) {
        std::vector<uint8_t> now;
        if (read_whole(dir + "/" + n, now) && now == data) continue;
        if (!write_whole(dir + "/" + n, data.data(), data.size())) {
            std::fprintf(stderr, "cannot restore %s/%s\n", dir.c_str(), n.c_str());
            std::abort();
        }
    }
}

}  // namespace teesigner::fuzz
