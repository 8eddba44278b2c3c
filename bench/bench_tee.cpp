// Where the time of one signature goes below the RPC layer (docs/PERFORMANCE.md):
// a soft-TEE round trip with a trivial command, an unprotected signature in
// the TA, a protected one (its record persisted before release), a batch of
// protected ones under one commit, and the storage primitive alone (an atomic
// durable file replace: tmp, fsync, rename, fsync dir).
//
//   build/bench/bench_tee [--benchmark_filter=...]
// Storage goes to $TS_BENCH_DIR (default /var/tmp), which must be on the disk
// whose fsync cost you want to measure (not tmpfs).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "signer_ta.h"
#include "tee_client_api.h"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/scale.hpp"
#include "ts_softtee.h"

namespace {

using teesigner::core::Bytes;
using teesigner::core::ByteSpan;
using teesigner::core::scale::Encoder;
namespace fs = std::filesystem;

fs::path bench_root() {
    const char* env = std::getenv("TS_BENCH_DIR");
    fs::path base = env != nullptr && *env != '\0' ? env : "/var/tmp";
    std::string tmpl = (base / "ts-bench-tee-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp in " + base.string());
    return tmpl;
}

// One soft-TEE context and session, with a fresh set of session keys.
class Tee {
  public:
    Tee() : dir_(bench_root()) {
        std::string cfg = "softtee:storage=" + (dir_ / "storage").string() +
                          ",ta=" TS_BENCH_TA ",stderr=" + (dir_ / "ta.log").string();
        if (TEEC_InitializeContext(cfg.c_str(), &ctx_) != TEEC_SUCCESS)
            throw std::runtime_error("soft TEE: " + std::string(ts_softtee_last_error(&ctx_)));
        const TEEC_UUID uuid = TA_SIGNER_UUID;
        uint32_t origin = 0;
        if (TEEC_OpenSession(&ctx_, &sess_, &uuid, TEEC_LOGIN_PUBLIC, nullptr, nullptr, &origin) !=
            TEEC_SUCCESS)
            throw std::runtime_error("open session");
        Bytes keys;
        if (call(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {}, keys) != TEEC_SUCCESS ||
            keys.size() != 193)
            throw std::runtime_error("generate session keys");
        gran_.assign(keys.begin(), keys.begin() + 32);
        babe_.assign(keys.begin() + 32, keys.begin() + 64);
        para_.assign(keys.begin() + 64, keys.begin() + 96);
        audi_.assign(keys.begin() + 128, keys.begin() + 160);
    }
    ~Tee() {
        TEEC_CloseSession(&sess_);
        TEEC_FinalizeContext(&ctx_);
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Tee(const Tee&) = delete;
    Tee& operator=(const Tee&) = delete;

    TEEC_Result call(uint32_t cmd, const Bytes& request, Bytes& out, size_t cap = 4096) {
        out.assign(cap, 0);
        TEEC_Operation op{};
        op.paramTypes = TEEC_PARAM_TYPES(request.empty() ? TEEC_NONE : TEEC_MEMREF_TEMP_INPUT,
                                         TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
        op.params[0].tmpref.buffer = const_cast<uint8_t*>(request.data());
        op.params[0].tmpref.size = request.size();
        op.params[1].tmpref.buffer = out.data();
        op.params[1].tmpref.size = out.size();
        uint32_t origin = 0;
        TEEC_Result rc = TEEC_InvokeCommand(&sess_, cmd, &op, &origin);
        out.resize(rc == TEEC_SUCCESS ? op.params[1].tmpref.size : 0);
        return rc;
    }

    const fs::path& dir() const { return dir_; }

    // CPU time the TA process has used so far (user + system), in microseconds:
    // what a request costs inside the TEE, whatever the machine's load.
    double ta_cpu_us() {
        std::string path = "/proc/" + std::to_string(ts_softtee_child_pid(&ctx_)) + "/stat";
        FILE* f = std::fopen(path.c_str(), "r");
        if (f == nullptr) return 0;
        char buf[1024] = {};
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        // Fields after the ")" that closes the command name: state is field 3,
        // utime and stime are fields 14 and 15.
        const char* p = std::strrchr(buf, ')');
        if (p == nullptr || n == 0) return 0;
        unsigned long utime = 0, stime = 0;
        if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                        &stime) != 2)
            return 0;
        return static_cast<double>(utime + stime) * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    Bytes gran_, babe_, para_, audi_;

  private:
    fs::path dir_;
    TEEC_Context ctx_{};
    TEEC_Session sess_{};
};

Tee& tee() {
    static Tee instance;
    return instance;
}

Bytes key_type(const char* kt) {
    return Bytes(kt, kt + 4);
}

// SCALE((Prevote{target_hash, target_number}, round, set_id)).
Bytes grandpa_prevote(uint64_t round, uint64_t set_id) {
    Encoder e;
    e.u8(0);
    for (int i = 0; i < 32; ++i) e.u8(static_cast<uint8_t>(round + i));
    e.u32(static_cast<uint32_t>(round)).u64(round).u64(set_id);
    return e.take();
}

Bytes typed(const char* kt, const Bytes& pk, const Bytes& payload) {
    Encoder e;
    e.raw(key_type(kt)).raw(pk).bytes(payload);
    return e.take();
}

void check(benchmark::State& state, TEEC_Result rc, TEEC_Result want = TEEC_SUCCESS) {
    if (rc != want) state.SkipWithError(ts_teec_result_string(rc));
}

// Reports the TA process's CPU time per item ("ta_cpu_us") when it goes out of scope.
class TaCpu {
  public:
    TaCpu(benchmark::State& state, size_t items_per_iteration = 1)
        : state_(state), items_(items_per_iteration), start_(tee().ta_cpu_us()) {}
    ~TaCpu() {
        double items = static_cast<double>(state_.iterations() * items_);
        if (items > 0) state_.counters["ta_cpu_us"] = (tee().ta_cpu_us() - start_) / items;
    }
    TaCpu(const TaCpu&) = delete;
    TaCpu& operator=(const TaCpu&) = delete;

  private:
    benchmark::State& state_;
    size_t items_;
    double start_;
};

// The TEE hop alone: an unknown command id, answered at once by the dispatcher.
void BM_tee_roundtrip_trivial(benchmark::State& state) {
    Tee& t = tee();
    Bytes out;
    const Bytes req = {1, 2, 3, 4};
    TaCpu cpu(state);
    for (auto _ : state) check(state, t.call(0x7fff, req, out, 64), TEEC_ERROR_NOT_SUPPORTED);
}
BENCHMARK(BM_tee_roundtrip_trivial)->UseRealTime();

// sp-keystore raw signing with an "audi" key: opaque, allowed, nothing persisted.
void BM_tee_sign_unprotected(benchmark::State& state) {
    Tee& t = tee();
    Encoder e;
    e.raw(key_type("audi")).u8(TA_SIGNER_SCHEME_SR25519).bytes(t.audi_);
    Bytes msg(64, 0x5a);
    e.bytes(msg);
    const Bytes req = e.take();
    Bytes out;
    TaCpu cpu(state);
    for (auto _ : state) check(state, t.call(TA_SIGNER_CMD_SIGN_CHECKED, req, out, 256));
}
BENCHMARK(BM_tee_sign_unprotected)->UseRealTime();

// A GRANDPA prevote for a new round each time: one new protection record.
void BM_tee_sign_grandpa_protected(benchmark::State& state) {
    Tee& t = tee();
    static uint64_t round = 1;
    Bytes out;
    TaCpu cpu(state);
    for (auto _ : state) {
        Bytes req = typed("gran", t.gran_, grandpa_prevote(round++, 7));
        check(state, t.call(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE, req, out, 256));
    }
}
BENCHMARK(BM_tee_sign_grandpa_protected)->UseRealTime()->Unit(benchmark::kMillisecond);

// N GRANDPA prevotes (new rounds) in one SIGN_BATCH: one commit for all N.
// Time per batch; items/s is the protected signing rate one TA can sustain.
void BM_tee_sign_grandpa_batch(benchmark::State& state) {
    Tee& t = tee();
    static uint64_t round = 1u << 20;
    const auto n = static_cast<size_t>(state.range(0));
    Bytes out;
    TaCpu cpu(state, n);
    for (auto _ : state) {
        Encoder e;
        e.compact(n);
        for (size_t i = 0; i < n; ++i)
            e.u32(TA_SIGNER_CMD_SIGN_GRANDPA_VOTE)
                .bytes(typed("gran", t.gran_, grandpa_prevote(round++, 7)));
        check(state, t.call(TA_SIGNER_CMD_SIGN_BATCH, e.take(), out, TA_SIGNER_BATCH_OUT_MAX(n)));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_tee_sign_grandpa_batch)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// N approval votes for distinct candidates in one SIGN_BATCH. Para records are
// kept per (session, first byte of the candidate hash), so these touch up to N
// different objects: the commit's cost grows with the objects it writes.
void BM_tee_sign_approval_batch(benchmark::State& state) {
    namespace payloads = teesigner::core::payloads;
    Tee& t = tee();
    static uint64_t next = 1;
    const auto n = static_cast<size_t>(state.range(0));
    Bytes out;
    TaCpu cpu(state, n);
    for (auto _ : state) {
        Encoder e;
        e.compact(n);
        for (size_t i = 0; i < n; ++i, ++next) {
            payloads::ParaStatement s;
            s.kind = payloads::ParaStatementKind::approval;
            s.session = static_cast<uint32_t>(100 + next / 4096);
            s.candidates.resize(1);
            for (size_t b = 0; b < 8; ++b)
                s.candidates[0][b] = static_cast<uint8_t>(next >> (8 * b));
            auto payload = payloads::encode_para_statement(s);
            if (!payload) state.SkipWithError("encode");
            e.u32(TA_SIGNER_CMD_SIGN_PARA_STATEMENT).bytes(typed("para", t.para_, *payload));
        }
        check(state, t.call(TA_SIGNER_CMD_SIGN_BATCH, e.take(), out, TA_SIGNER_BATCH_OUT_MAX(n)));
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_tee_sign_approval_batch)
    ->Arg(1)
    ->Arg(8)
    ->Arg(64)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// N unprotected signatures in one SIGN_BATCH: the TEE hop shared by N.
void BM_tee_sign_unprotected_batch(benchmark::State& state) {
    Tee& t = tee();
    const auto n = static_cast<size_t>(state.range(0));
    Encoder one;
    one.raw(key_type("audi")).u8(TA_SIGNER_SCHEME_SR25519).bytes(t.audi_).bytes(Bytes(64, 0x5a));
    Encoder e;
    e.compact(n);
    for (size_t i = 0; i < n; ++i) e.u32(TA_SIGNER_CMD_SIGN_CHECKED).bytes(one.bytes());
    const Bytes req = e.take();
    Bytes out;
    TaCpu cpu(state, n);
    for (auto _ : state)
        check(state, t.call(TA_SIGNER_CMD_SIGN_BATCH, req, out, TA_SIGNER_BATCH_OUT_MAX(n)));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_tee_sign_unprotected_batch)->Arg(8)->Arg(64)->UseRealTime();

// The storage primitive alone, in the same file system: tmp, write, fsync,
// rename, fsync(dir).
void BM_fs_atomic_replace(benchmark::State& state) {
    fs::path dir = tee().dir() / "fsbench";
    fs::create_directories(dir);
    int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0x42);
    for (auto _ : state) {
        int fd = openat(dirfd, "obj.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool ok = fd >= 0 &&
                  write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
                  fsync(fd) == 0;
        if (fd >= 0) close(fd);
        ok = ok && renameat(dirfd, "obj.tmp", dirfd, "obj") == 0 && fsync(dirfd) == 0;
        if (!ok) state.SkipWithError("file system call failed");
    }
    close(dirfd);
}
BENCHMARK(BM_fs_atomic_replace)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);

// fsync of a file and of a directory alone, to see what one durable step costs.
void BM_fs_fdatasync(benchmark::State& state) {
    fs::path dir = tee().dir() / "fsbench";
    fs::create_directories(dir);
    int fd = open((dir / "sync").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    std::vector<uint8_t> data(512, 0x42);
    for (auto _ : state) {
        if (pwrite(fd, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()) ||
            fdatasync(fd) != 0)
            state.SkipWithError("pwrite/fdatasync failed");
    }
    close(fd);
}
BENCHMARK(BM_fs_fdatasync)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
