#include "tee_key_service.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <semaphore>
#include <stdexcept>
#include <thread>

#include "errors.hpp"
#include "refusal.hpp"
#include "signer_ta.h"
#include "tee_client_api.h"
#include "teesigner/core/protection.hpp"
#include "teesigner/core/scale.hpp"

#if __has_include("ts_softtee.h")
#include "ts_softtee.h"
#define TS_SIGNERD_SOFTTEE 1
#endif

namespace teesigner::signerd {
namespace {

using core::scale::Decoder;
using core::scale::Encoder;

std::string result_string(TEEC_Result rc) {
#ifdef TS_SIGNERD_SOFTTEE
    return ts_teec_result_string(rc);
#else
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", rc);
    return buf;
#endif
}

// The TA's scheme bytes are core::Scheme's values.
static_assert(TA_SIGNER_SCHEME_SR25519 == static_cast<uint8_t>(Scheme::sr25519) &&
              TA_SIGNER_SCHEME_ED25519 == static_cast<uint8_t>(Scheme::ed25519) &&
              TA_SIGNER_SCHEME_ECDSA == static_cast<uint8_t>(Scheme::ecdsa));

uint8_t scheme_byte(Scheme s) {
    return static_cast<uint8_t>(s);
}

void encode_transcript(Encoder& e, const VrfTranscriptData& t) {
    e.bytes(t.label);
    e.vec(t.items, [](Encoder& enc, const std::pair<Bytes, Bytes>& item) {
        enc.bytes(item.first).bytes(item.second);
    });
}

[[noreturn]] void bad_response(const char* what) {
    throw ServiceError(rpc_error::kInternalError,
                       std::string("malformed response from the signer TA (") + what + ")");
}

// Commands that change nothing in the TA; safe to retry after a TEE restart.
bool read_only(uint32_t command) {
    return command == TA_SIGNER_CMD_LIST_PUBLIC_KEYS || command == TA_SIGNER_CMD_HAS_KEYS ||
           command == TA_SIGNER_CMD_ATTEST || command == TA_SIGNER_CMD_ATTEST_TEE ||
           command == TA_SIGNER_CMD_GET_PROTECTION_POLICY ||
           command == TA_SIGNER_CMD_EXPORT_PROTECTION;
}

// A Refused outcome (signer_ta.h) as the ServiceError the RPC layer answers.
[[noreturn]] void throw_refusal(Decoder& d) {
    auto refusal = core::protection::decode_refusal(d);
    if (!refusal || d.finish() != core::Error::ok) bad_response("refusal");
    throw refusal_error(*refusal);
}

// SignOutcome (signer_ta.h): Signed(signature, payload_hash) or Refused(...).
SignedPayload decode_outcome(const Bytes& out, size_t signature_size) {
    Decoder d(out);
    auto tag = d.enum_tag(2);
    if (!tag) bad_response("sign outcome");
    if (*tag == 1) throw_refusal(d);
    auto sig = d.bytes();
    auto hash = d.array<32>();
    if (!sig || !hash || d.finish() != core::Error::ok || sig->size() != signature_size)
        bad_response("signature");
    return SignedPayload{std::move(sig).value(), *hash};
}

}  // namespace

std::string tee_context_name(const TeeOptions& o) {
    if (o.backend == "optee") return {};
    if (o.backend != "soft")
        throw ConfigError("unknown TEE backend \"" + o.backend + "\" (use soft or optee)");
    std::string name = "softtee:";
    auto add = [&name](const char* key, const std::string& value) {
        if (value.empty()) return;
        if (value.find(',') != std::string::npos)
            throw ConfigError(std::string("soft TEE ") + key + " path must not contain ','");
        if (name.back() != ':') name += ',';
        name += key;
        name += '=';
        name += value;
    };
    add("storage", o.softtee_storage);
    add("ta", o.softtee_ta);
    if (o.softtee_timeout_ms != 0) add("timeout_ms", std::to_string(o.softtee_timeout_ms));
    return name;
}

struct TeeKeyService::Impl {
    explicit Impl(Metrics* m) : metrics(m) {}
    TeeOptions options;
    Metrics* metrics = nullptr;
    std::string context_name;
    std::mutex mu;
    TEEC_Context context{};
    TEEC_Session session{};
    bool context_open = false;
    bool session_open = false;
    uint64_t restarts = 0;
    std::string last_error;

    void open_session() {
        TEEC_UUID uuid = TA_SIGNER_UUID;
        uint32_t origin = 0;
        TEEC_Result rc = TEEC_OpenSession(&context, &session, &uuid, TEEC_LOGIN_PUBLIC, nullptr,
                                          nullptr, &origin);
        if (rc != TEEC_SUCCESS) {
            std::string reason = result_string(rc);
#ifdef TS_SIGNERD_SOFTTEE
            const char* detail = ts_softtee_last_error(&context);
            if (detail != nullptr && *detail != '\0') reason += std::string(": ") + detail;
#endif
            last_error = "cannot open a session with the signer TA: " + reason;
            throw ServiceError(rpc_error::kTeeUnavailable, last_error);
        }
        session_open = true;
    }

    // One command: SCALE request in params[0], response out of params[1].
    // mu must be held.
    Bytes invoke_locked(uint32_t command, const Bytes& request, size_t capacity) {
        if (!session_open) {
            open_session();
            if (restarts_pending) {
                ++restarts;
                if (metrics) metrics->tee_restart();
                restarts_pending = false;
                spdlog::warn("reconnected to the signer TA (restart {})", restarts);
            }
        }
        Bytes out(capacity);
        for (int attempt = 0; attempt < 3; ++attempt) {
            TEEC_Operation op{};
            op.paramTypes = TEEC_PARAM_TYPES(request.empty() ? TEEC_NONE : TEEC_MEMREF_TEMP_INPUT,
                                             TEEC_MEMREF_TEMP_OUTPUT, TEEC_NONE, TEEC_NONE);
            if (!request.empty()) {
                op.params[0].tmpref.buffer = const_cast<uint8_t*>(request.data());
                op.params[0].tmpref.size = request.size();
            }
            op.params[1].tmpref.buffer = out.data();
            op.params[1].tmpref.size = out.size();
            uint32_t origin = 0;
            const TEEC_Result rc = TEEC_InvokeCommand(&session, command, &op, &origin);
            if (rc == TEEC_SUCCESS) {
                if (op.params[1].tmpref.size > out.size()) bad_response("size");
                out.resize(op.params[1].tmpref.size);
                last_error.clear();
                if (metrics) metrics->set(Metrics::kUp, {}, 1);
                return out;
            }
            if (rc == TEEC_ERROR_SHORT_BUFFER && op.params[1].tmpref.size > out.size() &&
                op.params[1].tmpref.size <= TEEC_CONFIG_SHAREDMEM_MAX_SIZE) {
                out.resize(op.params[1].tmpref.size);  // the TA created nothing; ask again
                continue;
            }
            throw_for(rc, command);
        }
        bad_response("output size keeps growing");
    }

    bool backend_is_soft() const {
        return options.backend == "soft";
    }

    [[noreturn]] void throw_for(TEEC_Result rc, uint32_t command) {
        switch (rc) {
            case TEEC_ERROR_ITEM_NOT_FOUND:
                throw ServiceError(rpc_error::kKeyNotFound, "no such key in the TEE");
            case TEEC_ERROR_BAD_FORMAT:
            case TEEC_ERROR_BAD_PARAMETERS:
                throw ServiceError(
                    rpc_error::kInvalidParams,
                    "the signer TA rejected the request (" + result_string(rc) + ")");
            case TEEC_ERROR_NOT_IMPLEMENTED:
            case TEEC_ERROR_NOT_SUPPORTED:
                throw ServiceError(
                    rpc_error::kNotSupported,
                    "not supported by this signer TA build (" + result_string(rc) + ")");
            case TA_SIGNER_ERROR_NO_TEE_ATTESTATION:
                throw ServiceError(rpc_error::kNotSupported,
                                   backend_is_soft()
                                       ? "the soft TEE has no attestation service"
                                       : "OP-TEE's attestation pseudo-TA is not available "
                                         "(optee_os without CFG_ATTESTATION_PTA)");
            case TA_SIGNER_ERROR_KEY_LIMIT:
                throw ServiceError(
                    rpc_error::kKeyLimit,
                    "key limit reached: the signer TA holds at most " +
                        std::to_string(TA_SIGNER_MAX_KEYS_PER_TYPE) + " keys of one key type and " +
                        std::to_string(TA_SIGNER_MAX_KEYS) + " in all; no new key was stored");
            case TEEC_ERROR_ACCESS_DENIED:
            case TEEC_ERROR_ACCESS_CONFLICT:
                throw ServiceError(rpc_error::kPolicyRefused,
                                   "refused by the signer TA (" + result_string(rc) + ")", "ta");
            case TEEC_ERROR_EXCESS_DATA:
                throw ServiceError(rpc_error::kRequestTooLarge,
                                   "the request is larger than the signer TA accepts");
            case TEEC_ERROR_SECURITY:
            case 0xF0100001: /* TEE_ERROR_CORRUPT_OBJECT */
                last_error = "TEE storage failed its integrity check (" + result_string(rc) +
                             "): signing stops until an operator looks";
                spdlog::critical("{}", last_error);
                throw ServiceError(rpc_error::kInternalError, last_error);
            case TEEC_ERROR_TARGET_DEAD:
            case TEEC_ERROR_COMMUNICATION: {
                std::string reason = result_string(rc);
#ifdef TS_SIGNERD_SOFTTEE
                const char* detail = ts_softtee_last_error(&context);
                if (detail != nullptr && *detail != '\0') reason += std::string(": ") + detail;
#endif
                last_error = "signer TA died: " + reason;
                spdlog::error("{} (command 0x{:04x}); reconnecting on the next call", last_error,
                              command);
                TEEC_CloseSession(&session);
                session_open = false;
                restarts_pending = true;
                if (metrics) metrics->set(Metrics::kUp, {}, 0);
                throw ServiceError(rpc_error::kTeeUnavailable, last_error);
            }
            case TEEC_ERROR_BUSY:
                throw ServiceError(rpc_error::kTeeUnavailable, "the TEE is busy");
            default:
                last_error = "signer TA error " + result_string(rc);
                throw ServiceError(rpc_error::kInternalError, last_error);
        }
    }

    // ---- Group commit ---------------------------------------------------------
    // Signing requests queue here. Whichever caller finds no batch running
    // becomes the leader: it takes the TA (mu), then every queued request (up
    // to TA_SIGNER_BATCH_MAX) and sends them as one SIGN_BATCH, so requests
    // that arrive while the TA is busy (e.g. waiting for a protection record's
    // fsync) share the next commit instead of queueing one commit each.
    //
    // Two kinds of caller share the queue. A blocking caller (submit) sleeps
    // on its own semaphore and is woken exactly once: when its answer is in,
    // or to lead the next batch. Wake-ups happen after qmu is released, so the
    // woken thread does not block again on qmu. An asynchronous caller
    // (submit_async, from an RPC I/O thread) never waits: it leads at once when
    // no batch runs (one TA command on its own thread, no hand-off), and
    // otherwise leaves its job to the running leader, which calls its
    // completion after the batch. After a batch the leader hands over to the
    // next queued job's blocked caller; when that job is asynchronous, a
    // blocked caller keeps leading and an asynchronous leader hands over to
    // the batch thread, so an I/O thread runs at most one batch (its
    // connection waits for the handler to return) and no job is ever left in
    // the queue without a leader.
    struct Job {
        uint32_t command = 0;
        Bytes request;
        Bytes response;
        std::exception_ptr error;
        bool done = false;  // under qmu
        bool lead = false;  // under qmu: this caller runs the next batch
        // A blocking caller's: it outlives the Job, and the caller consumes
        // every token given to it before it returns. Null for an async job.
        std::binary_semaphore* wake = nullptr;
        // An async job's completion; the job is owned by the queue and then by
        // the leader that runs it.
        std::function<void(Job&)> on_done;
        std::chrono::steady_clock::time_point queued = std::chrono::steady_clock::now();
    };
    // Group-commit stage metrics (Metrics::kTee*).
    LazyHistogram queue_wait_metric{metrics, Metrics::kTeeQueueWait};
    LazyHistogram command_metric{metrics, Metrics::kTeeCommand};
    LazyHistogram batch_size_metric{metrics, Metrics::kTeeBatchSize};
    std::mutex qmu;
    std::deque<Job*> queue;
    bool leading = false;  // a batch is running or its leader is being woken
    bool batch_supported = true;
    // The batch thread: leads when an asynchronous leader hands over, i.e.
    // only while asynchronous requests keep arriving faster than one batch.
    std::thread batch_thread;
    std::counting_semaphore<2> batch_go{0};  // a hand-over, and the stop request
    bool handed_over = false;                // under qmu
    bool stopping = false;                   // under qmu

    void start_batch_thread() {
        batch_thread = std::thread([this] {
            for (;;) {
                batch_go.acquire();
                bool lead = false;
                bool stop = false;
                {
                    std::lock_guard lk(qmu);
                    lead = handed_over;
                    handed_over = false;
                    stop = stopping;
                }
                if (lead) lead_batches(nullptr);
                if (stop) return;
            }
        });
    }

    void stop_batch_thread() {
        if (!batch_thread.joinable()) return;
        {
            std::lock_guard lk(qmu);
            stopping = true;
        }
        batch_go.release();
        batch_thread.join();
    }

    Bytes submit(uint32_t command, Bytes request) {
        static thread_local std::binary_semaphore wake{0};
        Job job;
        job.command = command;
        job.request = std::move(request);
        job.wake = &wake;
        std::unique_lock lk(qmu);
        queue.push_back(&job);
        bool lead = !leading;
        leading = true;
        for (;;) {
            if (lead) {
                lk.unlock();
                lead_batches(&job);
                lk.lock();
            }
            if (job.done) break;
            lk.unlock();
            wake.acquire();  // one token per event: done, or lead
            lk.lock();
            lead = job.lead;
            job.lead = false;
        }
        lk.unlock();
        if (job.error) std::rethrow_exception(job.error);
        return std::move(job.response);
    }

    void submit_async(uint32_t command, Bytes request, std::function<void(Job&)> on_done) {
        auto job = std::make_unique<Job>();
        job->command = command;
        job->request = std::move(request);
        job->on_done = std::move(on_done);
        bool lead = false;
        {
            std::lock_guard lk(qmu);
            queue.push_back(job.release());  // adopted again by run_one_batch
            lead = !leading;
            leading = true;
        }
        if (lead) lead_batches(nullptr);
    }

    // Runs batches (leading == true, qmu not held) until the queue is empty or
    // the next queued job belongs to someone else to lead: a blocked caller,
    // or the batch thread when this leader is an I/O thread (self == null and
    // not the batch thread).
    void lead_batches(Job* self) {
        const bool may_continue =
            self != nullptr || std::this_thread::get_id() == batch_thread.get_id();
        for (;;) {
            run_one_batch(self);
            Job* next = nullptr;
            {
                std::lock_guard lk(qmu);
                if (queue.empty()) {
                    leading = false;
                    return;
                }
                Job* front = queue.front();
                if (front->wake != nullptr && front != self) {
                    front->lead = true;
                    next = front;
                } else if (!may_continue) {
                    handed_over = true;
                }
            }
            if (next != nullptr) {
                next->wake->release();
                return;
            }
            if (!may_continue) {
                batch_go.release();
                return;
            }
        }
    }

    void run_one_batch(Job* self) {
        std::vector<Job*> jobs;
        {
            std::lock_guard tee_lock(mu);
            {
                std::lock_guard lk(qmu);
                while (!queue.empty() && jobs.size() < TA_SIGNER_BATCH_MAX) {
                    jobs.push_back(queue.front());
                    queue.pop_front();
                }
            }
            for (const Job* job : jobs) queue_wait_metric.add(seconds_since(job->queued));
            if (jobs.size() > 1 && batch_supported) {
                const auto started = std::chrono::steady_clock::now();
                run_batch_locked(jobs);
                command_metric.add(seconds_since(started));
                batch_size_metric.add(static_cast<double>(jobs.size()));
            } else {
                for (Job* job : jobs) {
                    const auto started = std::chrono::steady_clock::now();
                    run_job_locked(*job);
                    command_metric.add(seconds_since(started));
                    batch_size_metric.add(1);
                }
            }
        }
        std::vector<std::binary_semaphore*> wakes;
        std::vector<std::unique_ptr<Job>> finished;  // async jobs, completed below
        wakes.reserve(jobs.size());
        {
            std::lock_guard lk(qmu);
            for (Job* job : jobs) {
                job->done = true;
                if (job->wake == nullptr)
                    finished.emplace_back(job);  // submit_async released it to the queue
                else if (job != self)
                    wakes.push_back(job->wake);
            }
        }
        // Blocked callers first: they continue on their own threads meanwhile.
        for (std::binary_semaphore* w : wakes) w->release();
        for (auto& job : finished) job->on_done(*job);
    }

    void run_job_locked(Job& job) {
        try {
            job.response = invoke_locked(job.command, job.request, TA_SIGNER_SIGN_OUTCOME_MAX);
        } catch (...) {
            job.error = std::current_exception();
        }
    }

    void run_batch_locked(const std::vector<Job*>& jobs) {
        Encoder e;
        e.compact(jobs.size());
        for (const Job* job : jobs) e.u32(job->command).bytes(job->request);
        Bytes out;
        try {
            out = invoke_locked(TA_SIGNER_CMD_SIGN_BATCH, e.take(),
                                TA_SIGNER_BATCH_OUT_MAX(jobs.size()));
        } catch (const ServiceError& err) {
            if (err.code() == rpc_error::kNotSupported) {
                // A TA without SIGN_BATCH: one command per request from now on.
                spdlog::warn("the signer TA has no batch command; signing one request at a time");
                batch_supported = false;
                for (Job* job : jobs) run_job_locked(*job);
                return;
            }
            for (Job* job : jobs) job->error = std::current_exception();
            return;
        } catch (...) {
            for (Job* job : jobs) job->error = std::current_exception();
            return;
        }
        if (metrics) metrics->set(Metrics::kUp, {}, 1);
        Decoder d(out);
        struct Answer {
            uint32_t result = 0;
            Bytes response;
        };
        auto answers = d.vec<Answer>(
            [](Decoder& dec) -> core::Result<Answer> {
                auto result = dec.u32();
                if (!result) return result.error();
                auto response = dec.bytes();
                if (!response) return response.error();
                return Answer{*result, std::move(response).value()};
            },
            5);
        if (!answers || d.finish() != core::Error::ok || answers->size() != jobs.size()) {
            try {
                bad_response("batch");
            } catch (...) {
                for (Job* job : jobs) job->error = std::current_exception();
            }
            return;
        }
        for (size_t i = 0; i < jobs.size(); ++i) {
            Answer& a = (*answers)[i];
            if (a.result == TEEC_SUCCESS) {
                jobs[i]->response = std::move(a.response);
                continue;
            }
            try {
                throw_for(a.result, jobs[i]->command);
            } catch (...) {
                jobs[i]->error = std::current_exception();
            }
        }
    }

    Bytes invoke(uint32_t command, const Bytes& request, size_t capacity) {
        std::lock_guard lock(mu);
        try {
            return invoke_locked(command, request, capacity);
        } catch (const ServiceError& e) {
            // A restarted TA answers read-only commands again at once.
            if (e.code() == rpc_error::kTeeUnavailable && !session_open && restarts_pending &&
                read_only(command))
                return invoke_locked(command, request, capacity);
            throw;
        }
    }

    bool restarts_pending = false;
};

TeeKeyService::TeeKeyService(TeeOptions options, Metrics* metrics)
    : impl_(std::make_unique<Impl>(metrics)) {
    Impl& s = *impl_;
    s.options = std::move(options);
    s.context_name = tee_context_name(s.options);
    const TEEC_Result rc = TEEC_InitializeContext(
        s.context_name.empty() ? nullptr : s.context_name.c_str(), &s.context);
    if (rc != TEEC_SUCCESS) {
        std::string reason = result_string(rc);
        if (rc == TEEC_ERROR_BUSY)
            reason += ": another process is using this TEE storage (one signer per data directory)";
        else if (rc == TEEC_ERROR_ITEM_NOT_FOUND && s.options.backend == "optee")
            // What libteec answers when it can open no /dev/teepriv* or /dev/tee* device.
            reason +=
                ": no OP-TEE device (/dev/teepriv0 or /dev/tee0); is the optee kernel driver "
                "loaded and tee-supplicant running? (docs/testing-on-optee.md)";
        throw StartupError("cannot initialize the " + s.options.backend + " TEE: " + reason);
    }
    s.context_open = true;
    try {
        s.open_session();
    } catch (const ServiceError& e) {
        TEEC_FinalizeContext(&s.context);
        s.context_open = false;
        throw StartupError(e.what());
    }
    s.start_batch_thread();
    if (metrics) metrics->set(Metrics::kUp, {}, 1);
}

TeeKeyService::~TeeKeyService() {
    Impl& s = *impl_;
    s.stop_batch_thread();
    std::lock_guard lock(s.mu);
    if (s.session_open) TEEC_CloseSession(&s.session);
    if (s.context_open) TEEC_FinalizeContext(&s.context);
}

Bytes TeeKeyService::rotate_session_keys() {
    Bytes blob = impl_->invoke(TA_SIGNER_CMD_GENERATE_SESSION_KEYS, {}, kSessionKeysSize);
    if (blob.size() != kSessionKeysSize) bad_response("session keys length");
    return blob;
}

std::vector<std::pair<Bytes, KeyTypeId>> TeeKeyService::decode_session_keys(ByteSpan blob) {
    return split_session_keys(blob);
}

bool TeeKeyService::has_keys(const std::vector<std::pair<Bytes, KeyTypeId>>& keys) {
    Encoder e;
    e.vec(keys, [](Encoder& enc, const std::pair<Bytes, KeyTypeId>& k) {
        enc.bytes(k.first).raw(k.second);
    });
    Bytes out = impl_->invoke(TA_SIGNER_CMD_HAS_KEYS, e.take(), 1);
    Decoder d(out);
    auto value = d.boolean();
    if (!value || d.finish() != core::Error::ok) bad_response("has_keys");
    return *value;
}

void TeeKeyService::retire_key(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key) {
    // Request (key_type, scheme, public: Vec<u8>), empty response. Never
    // retried after a TEE restart: a retry would answer "not found".
    Encoder e;
    e.raw(key_type).u8(scheme_byte(scheme)).bytes(public_key);
    impl_->invoke(TA_SIGNER_CMD_DELETE_KEY, e.take(), 0);
}

std::vector<Bytes> TeeKeyService::public_keys(const KeyTypeId& key_type, Scheme scheme) {
    Encoder e;
    e.raw(key_type).u8(scheme_byte(scheme));
    Bytes out = impl_->invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, e.take(), 4096);
    Decoder d(out);
    const size_t n = core::public_key_size(scheme);
    auto keys = d.vec<Bytes>(
        [n](Decoder& dec) -> core::Result<Bytes> {
            auto raw = dec.raw(n);
            if (!raw) return raw.error();
            return Bytes(raw->begin(), raw->end());
        },
        n);
    if (!keys || d.finish() != core::Error::ok) bad_response("public keys");
    return std::move(keys).value();
}

Bytes TeeKeyService::generate_new(const KeyTypeId& key_type, Scheme scheme,
                                  const std::optional<std::string>& seed) {
    Encoder e;
    e.raw(key_type).u8(scheme_byte(scheme));
    uint32_t command = TA_SIGNER_CMD_GENERATE_KEY;
    if (seed) {
        if (!impl_->options.allow_dev_seeds)
            throw ServiceError(rpc_error::kPolicyRefused, "development seeds are disabled",
                               "dev_seed");
        e.str(*seed);
        command = TA_SIGNER_CMD_IMPORT_SURI;
    }
    Bytes request = e.take();
    Bytes pk;
    try {
        pk = impl_->invoke(command, request, core::public_key_size(scheme));
    } catch (...) {
        std::memset(request.data(), 0, request.size());
        throw;
    }
    std::memset(request.data(), 0, request.size());
    if (pk.size() != core::public_key_size(scheme)) bad_response("public key length");
    return pk;
}

// ---- Signing: one request encoding and one answer decoding per method, shared
// by the blocking and the asynchronous form.

namespace {

struct SignCall {
    uint32_t command = 0;
    Bytes request;
};

SignCall sign_call(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                   ByteSpan message) {
    Encoder e;
    e.raw(key_type).u8(scheme_byte(scheme)).bytes(public_key).bytes(message);
    // The checked form reports why a refusal happened.
    return {TA_SIGNER_CMD_SIGN_CHECKED, e.take()};
}

SignCall vrf_sign_call(const KeyTypeId& key_type, ByteSpan public_key, const VrfSignData& data) {
    // Request (key_type, public: [u8; 32], transcript, extra: Option<transcript>)
    // with transcript = (label: Vec<u8>, items: Vec<(Vec<u8>, Vec<u8>)>), or
    // VRF_SIGN_HASHED with input_hash: [u8; 64] in the transcript's place;
    // response (pre_output: [u8; 32], proof: [u8; 64]).
    Encoder e;
    e.raw(key_type).raw(public_key);
    if (data.input_hash)
        e.raw(*data.input_hash);
    else
        encode_transcript(e, data.transcript);
    e.option(data.extra,
             [](Encoder& enc, const VrfTranscriptData& t) { encode_transcript(enc, t); });
    return {data.input_hash ? uint32_t{TA_SIGNER_CMD_VRF_SIGN_HASHED}
                            : uint32_t{TA_SIGNER_CMD_VRF_SIGN},
            e.take()};
}

VrfSignature decode_vrf_signature(const Bytes& out) {
    Decoder d(out);
    auto pre = d.array<32>();
    auto proof = d.array<64>();
    if (!pre || !proof || d.finish() != core::Error::ok) bad_response("vrf signature");
    return VrfSignature{*pre, *proof};
}

struct TypedCall {
    SignCall call;
    size_t signature_size = 64;
};

TypedCall typed_call(TypedPayload kind, const KeyTypeId& key_type, ByteSpan public_key,
                     ByteSpan payload) {
    TypedCall t;
    switch (kind) {
        case TypedPayload::grandpa_vote:
            t.call.command = TA_SIGNER_CMD_SIGN_GRANDPA_VOTE;
            break;
        case TypedPayload::babe_header:
            t.call.command = TA_SIGNER_CMD_SIGN_BABE_HEADER;
            break;
        case TypedPayload::beefy_commitment:
            t.call.command = TA_SIGNER_CMD_SIGN_BEEFY_COMMITMENT;
            t.signature_size = 65;
            break;
        case TypedPayload::para_statement:
            t.call.command = TA_SIGNER_CMD_SIGN_PARA_STATEMENT;
            break;
    }
    Encoder e;
    e.raw(key_type).raw(public_key).bytes(payload);
    t.call.request = e.take();
    return t;
}

// A job completion that decodes the TA's answer with `decode` and hands the
// value, or the exception, to `done`.
template <class T, class Decode>
std::function<void(TeeKeyService::Impl::Job&)> complete_with(Completion<T> done, Decode decode) {
    return [done = std::move(done), decode = std::move(decode)](TeeKeyService::Impl::Job& job) {
        Outcome<T> outcome;
        if (job.error) {
            outcome.error = job.error;
        } else {
            try {
                outcome.value = decode(job.response);
            } catch (...) {
                outcome.error = std::current_exception();
            }
        }
        done(std::move(outcome));
    };
}

}  // namespace

Bytes TeeKeyService::sign(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                          ByteSpan message) {
    SignCall c = sign_call(key_type, scheme, public_key, message);
    Bytes out = impl_->submit(c.command, std::move(c.request));
    return decode_outcome(out, core::signature_size(scheme)).signature;
}

bool TeeKeyService::sign_async(const KeyTypeId& key_type, Scheme scheme, ByteSpan public_key,
                               ByteSpan message, Completion<Bytes> done) {
    SignCall c = sign_call(key_type, scheme, public_key, message);
    impl_->submit_async(
        c.command, std::move(c.request),
        complete_with(std::move(done), [size = core::signature_size(scheme)](const Bytes& out) {
            return decode_outcome(out, size).signature;
        }));
    return true;
}

VrfSignature TeeKeyService::sr25519_vrf_sign(const KeyTypeId& key_type, ByteSpan public_key,
                                             const VrfSignData& data) {
    SignCall c = vrf_sign_call(key_type, public_key, data);
    return decode_vrf_signature(impl_->submit(c.command, std::move(c.request)));
}

bool TeeKeyService::sr25519_vrf_sign_async(const KeyTypeId& key_type, ByteSpan public_key,
                                           const VrfSignData& data, Completion<VrfSignature> done) {
    SignCall c = vrf_sign_call(key_type, public_key, data);
    impl_->submit_async(c.command, std::move(c.request),
                        complete_with(std::move(done), decode_vrf_signature));
    return true;
}

Bytes TeeKeyService::ecdsa_sign_prehashed(const KeyTypeId& key_type, ByteSpan public_key,
                                          const ByteArray<32>& prehash) {
    Encoder e;
    e.raw(key_type).raw(public_key).raw(prehash);
    Bytes out = impl_->submit(TA_SIGNER_CMD_ECDSA_SIGN_PREHASHED_CHECKED, e.take());
    return decode_outcome(out, 65).signature;
}

SignedPayload TeeKeyService::sign_typed(TypedPayload kind, const KeyTypeId& key_type,
                                        ByteSpan public_key, ByteSpan payload) {
    TypedCall t = typed_call(kind, key_type, public_key, payload);
    Bytes out = impl_->submit(t.call.command, std::move(t.call.request));
    return decode_outcome(out, t.signature_size);
}

bool TeeKeyService::sign_typed_async(TypedPayload kind, const KeyTypeId& key_type,
                                     ByteSpan public_key, ByteSpan payload,
                                     Completion<SignedPayload> done) {
    TypedCall t = typed_call(kind, key_type, public_key, payload);
    impl_->submit_async(t.call.command, std::move(t.call.request),
                        complete_with(std::move(done), [size = t.signature_size](const Bytes& out) {
                            return decode_outcome(out, size);
                        }));
    return true;
}

ProtectionPage TeeKeyService::export_protection(uint64_t cursor, uint32_t max_bytes) {
    Encoder e;
    e.u64(cursor).u32(max_bytes);
    Bytes out =
        impl_->invoke(TA_SIGNER_CMD_EXPORT_PROTECTION, e.take(), TA_SIGNER_EXPORT_PAGE_MAX + 1024);
    Decoder d(out);
    auto document = d.bytes();
    auto next = d.option<uint64_t>([](Decoder& dec) { return dec.u64(); });
    if (!document || !next || d.finish() != core::Error::ok) bad_response("protection page");
    return ProtectionPage{std::move(document).value(), *next};
}

ProtectionImport TeeKeyService::import_protection(ByteSpan document) {
    if (document.size() > TA_SIGNER_IMPORT_MAX)
        throw ServiceError(rpc_error::kInvalidParams,
                           "document: at most " + std::to_string(TA_SIGNER_IMPORT_MAX) +
                               " bytes per import (import a larger history page by page)");
    Encoder e;
    e.bytes(document);
    Bytes out = impl_->invoke(TA_SIGNER_CMD_IMPORT_PROTECTION, e.take(), 16);
    Decoder d(out);
    auto items = d.u32(), added = d.u32(), conflicting = d.u32(), raised = d.u32();
    if (!items || !added || !conflicting || !raised || d.finish() != core::Error::ok)
        bad_response("import report");
    return ProtectionImport{*items, *added, *conflicting, *raised};
}

std::vector<std::pair<KeyTypeId, bool>> TeeKeyService::protection_policy() {
    Bytes out = impl_->invoke(TA_SIGNER_CMD_GET_PROTECTION_POLICY, {}, 1024);
    Decoder d(out);
    using Entry = std::pair<KeyTypeId, bool>;
    auto entries = d.vec<Entry>(
        [](Decoder& dec) -> core::Result<Entry> {
            auto kt = dec.array<4>();
            if (!kt) return kt.error();
            auto allow = dec.boolean();
            if (!allow) return allow.error();
            return Entry{*kt, *allow};
        },
        5);
    if (!entries || d.finish() != core::Error::ok) bad_response("protection policy");
    return std::move(entries).value();
}

void TeeKeyService::set_protection_policy(const std::vector<std::pair<KeyTypeId, bool>>& entries) {
    if (entries.size() > TA_SIGNER_POLICY_MAX)
        throw ServiceError(rpc_error::kInvalidParams,
                           "entries: at most " + std::to_string(TA_SIGNER_POLICY_MAX));
    Encoder e;
    e.vec(entries, [](Encoder& enc, const std::pair<KeyTypeId, bool>& entry) {
        enc.raw(entry.first).boolean(entry.second);
    });
    (void)impl_->invoke(TA_SIGNER_CMD_SET_PROTECTION_POLICY, e.take(), 16);
}

namespace {

// ATTEST's (statement, signature) from `d` into `a` (kind and TEE evidence aside).
void decode_self_attestation(Decoder& d, ByteSpan nonce, Attestation& a) {
    auto statement = d.bytes();
    auto signature = d.array<64>();
    if (!statement || !signature) bad_response("attestation");
    a.statement = *statement;
    a.signature.assign(signature->begin(), signature->end());
    // statement = (label: String, nonce: Vec<u8>, keys: Vec<(KeyTypeId, Scheme, Vec<u8>)>,
    //              report_data: [u8; 32], attestation_key: [u8; 32])
    Decoder s(a.statement);
    auto label = s.str();
    auto echoed = s.bytes();
    struct Key {
        KeyTypeId type;
        uint8_t scheme;
        Bytes public_key;
    };
    auto keys = s.vec<Key>(
        [](Decoder& dec) -> core::Result<Key> {
            auto kt = dec.array<4>();
            if (!kt) return kt.error();
            auto sc = dec.u8();
            if (!sc) return sc.error();
            auto pk = dec.bytes();
            if (!pk) return pk.error();
            return Key{*kt, *sc, std::move(pk).value()};
        },
        6);
    auto report = s.array<32>();
    auto attest_key = s.array<32>();
    if (!label || !echoed || !keys || !report || !attest_key || s.finish() != core::Error::ok)
        bad_response("attestation statement");
    if (*echoed != Bytes(nonce.begin(), nonce.end())) bad_response("attestation nonce");
    a.report_data = *report;
    a.attestation_public_key.assign(attest_key->begin(), attest_key->end());
    nlohmann::json key_list = nlohmann::json::array();
    for (const auto& k : *keys) {
        // TA_SIGNER_SCHEME_* are core::Scheme's values (static_assert above).
        const char* scheme = k.scheme <= TA_SIGNER_SCHEME_ECDSA
                                 ? core::scheme_name(static_cast<Scheme>(k.scheme))
                                 : "unknown";
        key_list.push_back({{"keyType", key_type_string(k.type)},
                            {"scheme", scheme},
                            {"public", core::to_hex(k.public_key)}});
    }
    a.details = {{"label", *label},
                 {"nonce", core::to_hex(*echoed)},
                 {"keys", key_list},
                 {"signatureScheme", "ed25519"}};
}

// ATTEST_TEE's TeeEvidence (signer_ta.h) from `d`.
TeeEvidence decode_tee_evidence(Decoder& d) {
    TeeEvidence t;
    t.type = "optee-attestation-pta";
    auto algorithm = d.u32();
    auto exponent = d.bytes();
    auto modulus = d.bytes();
    auto memory_digest = d.array<32>();
    auto memory_signature = d.bytes();
    auto header_digest = d.array<32>();
    auto header_signature = d.bytes();
    if (!algorithm || !exponent || !modulus || !memory_digest || !memory_signature ||
        !header_digest || !header_signature || d.finish() != core::Error::ok)
        bad_response("TEE attestation evidence");
    // An RSA signature is as long as the modulus.
    if (modulus->empty() || exponent->empty() || memory_signature->size() != modulus->size() ||
        header_signature->size() != modulus->size())
        bad_response("TEE attestation evidence sizes");
    t.algorithm = *algorithm;
    t.rsa_exponent = std::move(exponent).value();
    t.rsa_modulus = std::move(modulus).value();
    t.ta_memory_digest = *memory_digest;
    t.ta_memory_signature = std::move(memory_signature).value();
    t.ta_header_digest = *header_digest;
    t.ta_header_signature = std::move(header_signature).value();
    return t;
}

}  // namespace

Attestation TeeKeyService::attest(ByteSpan nonce) {
    if (nonce.size() > TA_SIGNER_MAX_NONCE)
        throw ServiceError(rpc_error::kInvalidParams,
                           "nonce: at most " + std::to_string(TA_SIGNER_MAX_NONCE) + " bytes");
    Encoder e;
    e.bytes(nonce);
    const Bytes request = e.take();
    Attestation a;
    // The TEE's own evidence first; a TEE without an attestation service (the
    // soft TEE, OP-TEE without CFG_ATTESTATION_PTA) or an older TA says so,
    // and the TA's self-attested statement is all there is.
    try {
        Bytes out = impl_->invoke(TA_SIGNER_CMD_ATTEST_TEE, request, 16384);
        Decoder d(out);
        decode_self_attestation(d, nonce, a);
        a.tee = decode_tee_evidence(d);
        a.kind = a.tee->type;
        return a;
    } catch (const ServiceError& err) {
        if (err.code() != rpc_error::kNotSupported) throw;
        a.tee_unavailable = err.what();
    }
    Bytes out = impl_->invoke(TA_SIGNER_CMD_ATTEST, request, 16384);
    Decoder d(out);
    decode_self_attestation(d, nonce, a);
    if (d.finish() != core::Error::ok) bad_response("attestation");
    a.kind = "self-attested";
    return a;
}

KeyServiceHealth TeeKeyService::health() {
    Impl& s = *impl_;
    KeyServiceHealth h;
    h.backend = s.options.backend;
    // A cheap read-only call proves the TA answers (and reconnects if it died).
    try {
        KeyTypeId probe{'g', 'r', 'a', 'n'};
        Encoder e;
        e.raw(probe).u8(scheme_byte(Scheme::ed25519));
        (void)s.invoke(TA_SIGNER_CMD_LIST_PUBLIC_KEYS, e.take(), 4096);
    } catch (const std::exception& e) {
        h.ok = false;
        h.detail = e.what();
    }
    std::lock_guard lock(s.mu);
    h.restarts = s.restarts;
    return h;
}

long TeeKeyService::tee_process_id() {
#ifdef TS_SIGNERD_SOFTTEE
    std::lock_guard lock(impl_->mu);
    return static_cast<long>(ts_softtee_child_pid(&impl_->context));
#else
    return -1;
#endif
}

}  // namespace teesigner::signerd
