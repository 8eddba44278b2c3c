#include "simulate.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "commands.hpp"
#include "teesigner/core/bytes.hpp"
#include "teesigner/core/hash.hpp"
#include "teesigner/core/keys.hpp"
#include "teesigner/core/merlin.hpp"
#include "teesigner/core/payloads.hpp"
#include "teesigner/core/sr25519.hpp"

namespace teesigner::cli {

namespace core = teesigner::core;
namespace pl = teesigner::core::payloads;
using json = nlohmann::json;
using core::Bytes;
using core::Hash256;

// ---- Events ----------------------------------------------------------------------------------

json to_json(const SimEvent& e) {
    json j = {{"node", std::string(1, e.node)},
              {"type", e.type},
              {"method", e.method},
              {"scheme", e.scheme},
              {"public", e.public_key},
              {"message", e.message},
              {"signed", e.signed_}};
    if (!e.vote.empty()) j["vote"] = e.vote;
    if (!e.side.empty()) j["side"] = e.side;
    if (!e.payload_hash.empty()) j["payloadHash"] = e.payload_hash;
    if (e.error_code != 0) j["errorCode"] = e.error_code;
    if (!e.refusal.empty()) j["refusal"] = e.refusal;
    if (!e.signature.empty()) j["signature"] = e.signature;
    if (!e.vrf_transcript.empty()) j["transcript"] = json::parse(e.vrf_transcript);
    return j;
}

SimEvent event_from_json(const json& j) {
    auto str = [&j](const char* name, bool required) -> std::string {
        auto it = j.find(name);
        if (it == j.end()) {
            if (required) throw CliError(std::string("event: missing \"") + name + "\"");
            return {};
        }
        if (!it->is_string())
            throw CliError(std::string("event: \"") + name + "\" is not a string");
        return it->get<std::string>();
    };
    if (!j.is_object()) throw CliError("event: expected a JSON object");
    SimEvent e;
    const std::string node = str("node", true);
    if (node != "A" && node != "B") throw CliError("event: node must be \"A\" or \"B\"");
    e.node = node[0];
    e.type = str("type", true);
    e.method = str("method", true);
    e.scheme = str("scheme", true);
    e.public_key = str("public", true);
    e.message = str("message", true);
    e.vote = str("vote", false);
    e.side = str("side", false);
    e.payload_hash = str("payloadHash", false);
    e.refusal = str("refusal", false);
    e.signature = str("signature", false);
    if (!j.contains("signed") || !j["signed"].is_boolean())
        throw CliError("event: \"signed\" must be a bool");
    e.signed_ = j["signed"].get<bool>();
    if (j.contains("errorCode")) {
        if (!j["errorCode"].is_number_integer()) throw CliError("event: bad errorCode");
        e.error_code = j["errorCode"].get<int>();
    }
    if (j.contains("transcript")) e.vrf_transcript = j["transcript"].dump();
    return e;
}

// ---- Checks ----------------------------------------------------------------------------------

namespace {

constexpr int kSlashingRefused = -32010;

std::optional<Bytes> unhex(const std::string& s) {
    auto b = core::from_hex(s);
    if (!b) return std::nullopt;
    return std::move(b).value();
}

// A VRF transcript {label, items: [[label, data]...]} as sent to keystore_sr25519VrfSign.
std::optional<core::Transcript> transcript_from_json(const json& t) {
    if (!t.is_object() || !t.contains("label") || !t.contains("items")) return std::nullopt;
    auto label = unhex(t["label"].get<std::string>());
    if (!label) return std::nullopt;
    core::Transcript out{core::ByteSpan(*label)};
    for (const auto& item : t["items"]) {
        auto l = unhex(item[0].get<std::string>());
        auto d = unhex(item[1].get<std::string>());
        if (!l || !d) return std::nullopt;
        out.append_message(core::ByteSpan(*l), *d);
    }
    return out;
}

// Whether the signature of a signed event is valid for its public key and message.
std::string verify_event(const SimEvent& e) {
    auto sig = unhex(e.signature);
    auto pk = unhex(e.public_key);
    auto msg = unhex(e.message);
    if (!sig || !pk || !msg) return "undecodable hex";
    if (!e.vrf_transcript.empty()) {
        std::optional<core::Transcript> t;
        try {
            t = transcript_from_json(json::parse(e.vrf_transcript));
        } catch (const std::exception&) {
        }
        if (!t || sig->size() != 96) return "malformed VRF signature or transcript";
        auto r = core::sr25519::vrf_verify(*pk, *t, core::ByteSpan(sig->data(), 32),
                                           core::ByteSpan(sig->data() + 32, 64));
        return r ? "" : core::error_message(r.error());
    }
    core::Error err;
    if (e.scheme == "ecdsa" && msg->size() == 32 && e.method != "keystore_sign")
        err = core::verify_prehashed(core::SignatureBytes(*sig), *msg, core::PublicKeyBytes(*pk));
    else if (auto s = core::scheme_from_name(e.scheme))
        err = core::verify(*s, core::SignatureBytes(*sig), *msg, core::PublicKeyBytes(*pk));
    else
        return "unknown scheme " + e.scheme;
    if (err != core::Error::ok) return core::error_message(err);
    // The hash the signer reported (typed methods) is what it recorded.
    if (!e.payload_hash.empty()) {
        // BABE and BEEFY sign a 32-byte hash (the message itself); the others the payload.
        const bool hashed = e.type == "babe_seal" || e.type == "beefy_vote";
        if (hashed && msg->size() != 32) return "message is not a 32-byte hash";
        const std::string expected = hashed ? e.message : core::to_hex(core::blake2b_256(*msg));
        if (e.payload_hash != expected) return "payloadHash does not match";
    }
    return "";
}

std::string describe(const SimEvent& e) {
    return std::string("node ") + e.node + " " + e.type + (e.vote.empty() ? "" : " " + e.vote);
}

}  // namespace

SimReport check_events(const std::vector<SimEvent>& events) {
    SimReport rep;
    std::map<std::string, std::vector<const SimEvent*>> votes;
    for (const SimEvent& e : events) {
        if (e.signed_) {
            ++rep.signed_count;
            const std::string why = verify_event(e);
            if (why.empty())
                ++rep.verified;
            else
                rep.problems.push_back(describe(e) + ": signature does not verify (" + why + ")");
        } else if (e.error_code == kSlashingRefused) {
            ++rep.refused;
        } else {
            ++rep.errors;
            rep.problems.push_back(describe(e) + ": failed with error " +
                                   std::to_string(e.error_code) +
                                   (e.refusal.empty() ? "" : " (" + e.refusal + ")"));
        }
        if (e.vote.empty()) {
            if (!e.signed_ && e.error_code == kSlashingRefused)
                rep.problems.push_back(describe(e) + ": an unprotected payload was refused");
        } else {
            votes[e.vote].push_back(&e);
        }
    }

    for (const auto& [vote, list] : votes) {
        const bool para = vote.rfind("para/", 0) == 0;
        // What identifies "the same thing": the payload, or for para the side taken.
        auto what = [para](const SimEvent* e) { return para ? e->side : e->payload_hash; };
        std::set<std::string> asked, signed_what;
        for (const SimEvent* e : list) {
            asked.insert(what(e));
            if (e->signed_) signed_what.insert(what(e));
        }
        if (signed_what.size() > 1) {
            std::string s = vote + ": " + std::to_string(signed_what.size()) + " different " +
                            (para ? "sides" : "payloads") + " were signed";
            rep.equivocations.push_back(s);
            continue;
        }
        if (asked.size() == 1) {
            // No conflict: a refusal here is a false positive.
            for (const SimEvent* e : list)
                if (!e->signed_ && e->error_code == kSlashingRefused)
                    rep.problems.push_back(describe(*e) + ": refused (" + e->refusal +
                                           ") although nothing conflicting was asked");
            continue;
        }
        ++rep.conflicts;
        if (signed_what.empty()) {
            rep.problems.push_back(vote + ": conflicting requests, but none was signed");
            continue;
        }
        bool caught = true;
        for (const SimEvent* e : list) {
            const bool winner = what(e) == *signed_what.begin();
            if (winner && !e->signed_) caught = false;  // reported as an error above
            if (!winner && e->error_code != kSlashingRefused) caught = false;
        }
        if (caught) ++rep.conflicts_caught;
    }
    return rep;
}

// ---- The workload --------------------------------------------------------------------------

namespace {

struct Keys {
    std::string gran, babe, para, asgn, audi, beef;
};

Bytes le(uint64_t v, size_t n) {
    Bytes out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
    return out;
}

// The chain and both nodes' views of it, all derived from the seed.
class Chain {
  public:
    explicit Chain(uint64_t seed) : seed_(seed) {}

    Hash256 hash(std::string_view tag, uint64_t a, uint64_t b = 0) const {
        Bytes in(tag.begin(), tag.end());
        for (uint64_t v : {seed_, a, b}) {
            Bytes x = le(v, 8);
            in.insert(in.end(), x.begin(), x.end());
        }
        return core::blake2b_256(in);
    }
    // A yes/no decision with probability percent/100, the same for both nodes.
    bool chance(std::string_view tag, uint64_t round, unsigned percent) const {
        return hash(tag, round)[0] % 100 < percent;
    }
    Hash256 canon(uint32_t height) const { return hash("canon", height); }
    Hash256 fork(uint32_t height) const { return hash("fork", height); }

  private:
    uint64_t seed_;
};

constexpr uint32_t kBaseHeight = 22'500'000;
constexpr uint64_t kBaseSlot = 287'000'000;
constexpr uint64_t kBaseSet = 3141;
constexpr uint32_t kBaseSession = 41'000;
constexpr uint32_t kBaseBeefyBlock = 22'400'000;

uint32_t height_of(unsigned r) {
    return kBaseHeight + 2 * r;
}
uint32_t session_of(unsigned r) {
    return kBaseSession + r / 10;
}

json transcript_json(std::string_view label,
                     const std::vector<std::pair<std::string, Bytes>>& items) {
    json j = {{"label", core::to_hex(core::as_bytes(label))}, {"items", json::array()}};
    for (const auto& [l, d] : items)
        j["items"].push_back({core::to_hex(core::as_bytes(l)), core::to_hex(d)});
    return j;
}

class Node {
  public:
    Node(char name, const Chain& chain, const Keys& keys, client::Endpoint endpoint)
        : name_(name), chain_(chain), keys_(keys), client_(std::move(endpoint)) {}

    std::vector<SimEvent>& events() { return events_; }

    void round(unsigned r) {
        const uint32_t h = height_of(r);
        const bool b = name_ == 'B';
        // Node B's view differs on some rounds: it follows a fork or lags a block.
        const bool pv_diverges = b && chain_.chance("prevote-diverges", r, 30);
        const bool pv_fork = chain_.chance("prevote-fork-or-lag", r, 50);
        const bool pc_diverges = b && chain_.chance("precommit-diverges", r, 15);
        const bool beefy_diverges = b && chain_.chance("beefy-diverges", r, 20);

        Hash256 best = chain_.canon(h);
        uint32_t best_number = h;
        if (pv_diverges) {
            if (pv_fork) {
                best = chain_.fork(h);
            } else {
                best = chain_.canon(h - 1);
                best_number = h - 1;
            }
        }

        babe(r, best, best_number);
        grandpa(r, pl::GrandpaMessageKind::prevote, best, best_number);
        const uint32_t pc_number = pc_diverges ? h - 1 : h - 2;
        grandpa(r, pl::GrandpaMessageKind::precommit, chain_.canon(pc_number), pc_number);
        para(r);
        beefy(r, beefy_diverges);
        assignment(r);
        if (r % 10 == 0) authority_discovery(r);
    }

  private:
    // One call; the outcome goes into `e`.
    json call(SimEvent& e, const char* method, json params) {
        e.node = name_;
        e.method = method;
        try {
            json result = client_.call(method, std::move(params));
            e.signed_ = true;
            return result;
        } catch (const client::RpcError& err) {
            e.error_code = err.code();
            if (err.data().is_object() && err.data().contains("code") &&
                err.data()["code"].is_string())
                e.refusal = err.data()["code"].get<std::string>();
            else
                e.refusal = err.what();
        } catch (const client::TransportError& err) {
            e.error_code = -1;
            e.refusal = std::string("transport: ") + err.what();
        } catch (const std::exception& err) {
            e.error_code = -2;
            e.refusal = err.what();
        }
        return json();
    }

    // A call that returned something other than the documented answer.
    static void fail_answer(SimEvent& e, const char* what) {
        e.signed_ = false;
        e.error_code = -2;
        e.refusal = what;
    }

    static void take_signature(SimEvent& e, const json& result, bool typed) {
        if (!e.signed_) return;
        if (typed) {
            if (!result.is_object() || !result.contains("signature") ||
                !result["signature"].is_string() || !result.contains("payloadHash") ||
                !result["payloadHash"].is_string())
                return fail_answer(e, "answer without signature/payloadHash");
            e.signature = result["signature"].get<std::string>();
            e.payload_hash = result["payloadHash"].get<std::string>();
        } else if (result.is_string()) {
            e.signature = result.get<std::string>();
        } else {
            fail_answer(e, "answer is not a signature");
        }
    }

    void grandpa(unsigned r, pl::GrandpaMessageKind kind, const Hash256& target, uint32_t number) {
        pl::GrandpaVote v;
        v.kind = kind;
        v.target_hash = target;
        v.target_number = number;
        v.set_id = kBaseSet + r / 50;
        v.round = 1 + r % 50;
        const Bytes payload = pl::encode_grandpa_vote(v);
        const bool prevote = kind == pl::GrandpaMessageKind::prevote;
        SimEvent e;
        e.type = prevote ? "grandpa_prevote" : "grandpa_precommit";
        e.scheme = "ed25519";
        e.public_key = keys_.gran;
        e.message = core::to_hex(payload);
        e.vote = "grandpa/" + std::to_string(v.set_id) + "/" + std::to_string(v.round) + "/" +
                 (prevote ? "prevote" : "precommit");
        // Node A uses the typed method, node B the sp-keystore path a stock node forwards.
        const bool typed = name_ == 'A';
        json res = typed ? call(e, "signer_signGrandpaVote", {"gran", keys_.gran, e.message})
                         : call(e, "keystore_sign", {"gran", "ed25519", keys_.gran, e.message});
        take_signature(e, res, typed);
        if (!typed) e.payload_hash = core::to_hex(core::blake2b_256(payload));
        events_.push_back(std::move(e));
    }

    void babe(unsigned r, const Hash256& parent, uint32_t parent_number) {
        const uint64_t slot = kBaseSlot + r;
        const uint64_t epoch = slot / 600;
        const Hash256 randomness = chain_.hash("randomness", epoch);
        const json t = transcript_json(
            "BABE", {{"slot number", le(slot, 8)},
                     {"current epoch", le(epoch, 8)},
                     {"chain randomness", Bytes(randomness.begin(), randomness.end())}});
        SimEvent claim;
        claim.type = "babe_claim_vrf";
        claim.scheme = "sr25519";
        claim.public_key = keys_.babe;
        claim.message = "0x";
        claim.vrf_transcript = t.dump();
        json res = call(claim, "keystore_sr25519VrfSign", {"babe", keys_.babe, t});
        if (claim.signed_) {
            if (res.is_object() && res.contains("signature") && res["signature"].is_string())
                claim.signature = res["signature"].get<std::string>();
            else
                fail_answer(claim, "no VRF signature");
        }
        const bool ok = claim.signed_;
        const std::string sig = claim.signature;
        events_.push_back(std::move(claim));
        if (!ok) return;
        auto vrf = core::from_hex(sig);
        if (!vrf || vrf->size() != 96) return;
        // Stand-in for the threshold test: the first pre-output byte, ~1/3 of slots.
        if ((*vrf)[0] >= 0x55) return;

        pl::BabePreDigest pre;
        pre.kind = pl::BabePreDigestKind::primary;
        pre.authority_index = 7;
        pre.slot = slot;
        std::copy(vrf->begin(), vrf->begin() + 32, pre.vrf_pre_output.begin());
        std::copy(vrf->begin() + 32, vrf->end(), pre.vrf_proof.begin());
        pl::Header header;
        header.parent_hash = parent;
        header.number = parent_number + 1;
        // Each node builds its block from its own transaction pool.
        header.state_root = chain_.hash(std::string("state-") + name_, r);
        header.extrinsics_root = chain_.hash(std::string("extrinsics-") + name_, r);
        header.digest.push_back(
            {pl::DigestItemKind::pre_runtime, pl::kBabeEngineId, pl::encode_babe_pre_digest(pre)});
        const Bytes encoded = pl::encode_header(header);
        const Hash256 pre_hash = core::blake2b_256(encoded);

        SimEvent e;
        e.type = "babe_seal";
        e.scheme = "sr25519";
        e.public_key = keys_.babe;
        e.message = core::to_hex(pre_hash);
        e.vote = "babe/" + std::to_string(slot);
        json sres = call(e, "signer_signBabeHeader", {"babe", keys_.babe, core::to_hex(encoded)});
        take_signature(e, sres, true);
        events_.push_back(std::move(e));
    }

    void para_statement(const std::string& type, const pl::ParaStatement& s, bool typed) {
        auto payload = pl::encode_para_statement(s);
        if (!payload) return;
        SimEvent e;
        e.type = type;
        e.scheme = "sr25519";
        e.public_key = keys_.para;
        e.message = core::to_hex(*payload);
        e.side = s.valid_side() ? "valid" : "invalid";
        // One protected vote per (session, candidate); an approval of several
        // candidates is recorded under each, so check it under the first.
        e.vote = "para/" + std::to_string(s.session) + "/" + core::to_hex(s.candidates.front());
        json res = typed ? call(e, "signer_signParaStatement", {"para", keys_.para, e.message})
                         : call(e, "keystore_sign", {"para", "sr25519", keys_.para, e.message});
        take_signature(e, res, typed);
        if (!typed) e.payload_hash = core::to_hex(core::blake2b_256(*payload));
        events_.push_back(std::move(e));
    }

    void para(unsigned r) {
        const bool typed = name_ == 'A';
        // Backing: A seconds the round's candidate, B backs it as valid.
        pl::ParaStatement backing;
        backing.kind = name_ == 'A' ? pl::ParaStatementKind::backing_seconded
                                    : pl::ParaStatementKind::backing_valid;
        backing.session = session_of(r);
        backing.candidates = {chain_.hash("candidate", r)};
        backing.parent_hash = chain_.canon(height_of(r));
        para_statement(name_ == 'A' ? "backing_seconded" : "backing_valid", backing, typed);

        // Approval of the previous round's candidate (both nodes: the same payload).
        if (r > 0) {
            pl::ParaStatement approval;
            approval.session = session_of(r - 1);
            approval.candidates = {chain_.hash("candidate", r - 1)};
            if (r % 5 == 0 && r > 1 && session_of(r - 2) == approval.session) {
                approval.kind = pl::ParaStatementKind::approval_multiple;
                approval.candidates.push_back(chain_.hash("candidate", r - 2));
            } else {
                approval.kind = pl::ParaStatementKind::approval;
            }
            para_statement(
                approval.kind == pl::ParaStatementKind::approval ? "approval" : "approval_multiple",
                approval, typed);
        }

        // Disputes: B's PVF run failed on some candidates (the nodes disagree),
        // on others both confirm it valid.
        const bool disagree = chain_.chance("dispute-disagree", r, 20);
        const bool agree = !disagree && chain_.chance("dispute-agree", r, 10);
        if (disagree || agree) {
            pl::ParaStatement d;
            d.session = session_of(r);
            d.candidates = {chain_.hash("disputed", r)};
            d.kind = disagree && name_ == 'B' ? pl::ParaStatementKind::dispute_invalid
                                              : pl::ParaStatementKind::dispute_valid;
            para_statement(d.kind == pl::ParaStatementKind::dispute_valid ? "dispute_valid"
                                                                          : "dispute_invalid",
                           d, typed);
        }
    }

    void beefy(unsigned r, bool diverges) {
        pl::BeefyCommitment c;
        c.block_number = kBaseBeefyBlock + 8 * r;
        c.validator_set_id = kBaseSet + r / 50;
        const Hash256 root = chain_.hash(diverges ? "mmr-fork" : "mmr", c.block_number);
        c.payload.push_back({{'m', 'h'}, Bytes(root.begin(), root.end())});
        const Bytes encoded = pl::encode_beefy_commitment(c);
        SimEvent e;
        e.type = "beefy_vote";
        e.scheme = "ecdsa";
        e.public_key = keys_.beef;
        e.message = core::to_hex(pl::beefy_prehash(encoded));
        e.vote =
            "beefy/" + std::to_string(c.validator_set_id) + "/" + std::to_string(c.block_number);
        json res =
            call(e, "signer_signBeefyCommitment", {"beef", keys_.beef, core::to_hex(encoded)});
        take_signature(e, res, true);
        events_.push_back(std::move(e));
    }

    void assignment(unsigned r) {
        // RelayVRFModulo: transcript "A&V MOD" over the relay VRF story and the sample.
        const Hash256 story = chain_.hash("relay-vrf-story", height_of(r));
        const json t = transcript_json(
            "A&V MOD", {{"RC-VRF", Bytes(story.begin(), story.end())}, {"sample", le(0, 4)}});
        SimEvent e;
        e.type = "assignment_vrf";
        e.scheme = "sr25519";
        e.public_key = keys_.asgn;
        e.message = "0x";
        e.vrf_transcript = t.dump();
        json res = call(e, "keystore_sr25519VrfSign", {"asgn", keys_.asgn, t});
        if (e.signed_) {
            if (res.is_object() && res.contains("signature") && res["signature"].is_string())
                e.signature = res["signature"].get<std::string>();
            else
                fail_answer(e, "no VRF signature");
        }
        events_.push_back(std::move(e));
    }

    void authority_discovery(unsigned r) {
        // A record naming this node's address (opaque bytes to the signer).
        const std::string record = std::string("/ip4/10.0.0.") + (name_ == 'A' ? "1" : "2") +
                                   "/tcp/30333 round " + std::to_string(r);
        SimEvent e;
        e.type = "authority_discovery";
        e.scheme = "sr25519";
        e.public_key = keys_.audi;
        e.message = core::to_hex(core::as_bytes(record));
        json res = call(e, "keystore_sign", {"audi", "sr25519", keys_.audi, e.message});
        take_signature(e, res, false);
        events_.push_back(std::move(e));
    }

    char name_;
    const Chain& chain_;
    const Keys& keys_;
    client::Client client_;
    std::vector<SimEvent> events_;
};

// ---- A private signer --------------------------------------------------------------------

class SpawnedSigner {
  public:
    SpawnedSigner() {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/tee-signer-sim-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr)
            throw CliError("cannot create a temporary directory: " + std::string(strerror(errno)));
        dir_ = pattern;
        socket_ = dir_ + "/rpc.sock";
        const std::string log = dir_ + "/serve.log";
        const std::string data = dir_ + "/data";
        pid_ = ::fork();
        if (pid_ < 0) throw CliError("fork failed: " + std::string(strerror(errno)));
        if (pid_ == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
                ::close(fd);
            }
            ::execl("/proc/self/exe", "tee-signer", "serve", "--data-dir", data.c_str(),
                    "--rpc-port", "0", "--unix-socket", socket_.c_str(), "--log-level", "warn",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    SpawnedSigner(const SpawnedSigner&) = delete;
    SpawnedSigner& operator=(const SpawnedSigner&) = delete;
    ~SpawnedSigner() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string url() const { return "unix:" + socket_; }

    void wait_ready() {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        std::string last;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw CliError("the spawned signer exited during start-up: " + log_tail(), 2);
            }
            if (std::filesystem::exists(socket_)) {
                try {
                    client::Endpoint e;
                    e.url = url();
                    e.timeout = std::chrono::milliseconds(5000);
                    client::Client c(e);
                    c.call("signer_health");
                    return;
                } catch (const std::exception& err) {
                    last = err.what();
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        throw CliError(
            "the spawned signer did not become ready in 60 s (" + last + "): " + log_tail(), 2);
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

  private:
    std::string log_tail() const {
        std::ifstream in(dir_ + "/serve.log");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.size() > 800) text = "..." + text.substr(text.size() - 800);
        return text;
    }

    std::string dir_, socket_;
    pid_t pid_ = -1;
};

std::string generate_key(client::Client& c, const char* key_type, const char* scheme) {
    try {
        json pk = c.call("keystore_generateNew", {key_type, scheme});
        if (!pk.is_string()) throw CliError("keystore_generateNew answered no public key", 2);
        return pk.get<std::string>();
    } catch (const client::RpcError& e) {
        throw CliError(std::string("keystore_generateNew ") + key_type + ": " + e.what(), 2);
    } catch (const client::TransportError& e) {
        throw CliError(std::string("cannot reach the signer: ") + e.what(), 2);
    }
}

void print_report(const std::vector<SimEvent>& events, const SimReport& rep) {
    // Per type: signed/refused/failed for each node, in workload order.
    const std::vector<std::string> order = {
        "babe_claim_vrf",     "babe_seal",       "grandpa_prevote", "grandpa_precommit",
        "backing_seconded",   "backing_valid",   "approval",        "approval_multiple",
        "dispute_valid",      "dispute_invalid", "beefy_vote",      "assignment_vrf",
        "authority_discovery"};
    std::map<std::string, std::array<size_t, 6>> table;
    for (const SimEvent& e : events) {
        auto& row = table[e.type];
        const size_t base = e.node == 'A' ? 0 : 3;
        row[base + (e.signed_ ? 0 : e.error_code == kSlashingRefused ? 1 : 2)]++;
    }
    std::printf("%-22s %8s %8s %6s   %8s %8s %6s\n", "payload", "A signed", "refused", "failed",
                "B signed", "refused", "failed");
    std::array<size_t, 6> total{};
    for (const std::string& type : order) {
        auto it = table.find(type);
        if (it == table.end()) continue;
        const auto& r = it->second;
        std::printf("%-22s %8zu %8zu %6zu   %8zu %8zu %6zu\n", type.c_str(), r[0], r[1], r[2], r[3],
                    r[4], r[5]);
        for (size_t i = 0; i < 6; ++i) total[i] += r[i];
    }
    std::printf("%-22s %8zu %8zu %6zu   %8zu %8zu %6zu\n", "total", total[0], total[1], total[2],
                total[3], total[4], total[5]);
    std::printf("\n");
    std::printf("requests:                 %zu (%zu signed, %zu refused with -32010, %zu failed)\n",
                events.size(), rep.signed_count, rep.refused, rep.errors);
    std::printf("conflicting votes:        %zu (the nodes asked for different payloads/sides)\n",
                rep.conflicts);
    std::printf("  refused exactly once:   %zu\n", rep.conflicts_caught);
    std::printf("equivocations signed:     %zu\n", rep.equivocations.size());
    std::printf("signatures verified:      %zu/%zu\n", rep.verified, rep.signed_count);
    for (const auto& s : rep.equivocations) std::printf("EQUIVOCATION: %s\n", s.c_str());
    const size_t shown = std::min<size_t>(rep.problems.size(), 20);
    for (size_t i = 0; i < shown; ++i) std::printf("PROBLEM: %s\n", rep.problems[i].c_str());
    if (rep.problems.size() > shown)
        std::printf("... and %zu more problems\n", rep.problems.size() - shown);
    std::printf("result: %s\n", rep.ok() ? "PASS" : "FAIL");
}

}  // namespace

int run_simulate(const SimulateOptions& o) {
    if (!o.check_events.empty()) {
        std::ifstream in(o.check_events);
        if (!in) throw CliError("cannot read " + o.check_events);
        std::vector<SimEvent> events;
        std::string line;
        size_t n = 0;
        while (std::getline(in, line)) {
            ++n;
            if (line.empty()) continue;
            try {
                events.push_back(event_from_json(json::parse(line)));
            } catch (const json::exception& e) {
                throw CliError(o.check_events + ":" + std::to_string(n) + ": " + e.what());
            } catch (const CliError& e) {
                throw CliError(o.check_events + ":" + std::to_string(n) + ": " + e.what());
            }
        }
        const SimReport rep = check_events(events);
        print_report(events, rep);
        return rep.ok() ? 0 : 1;
    }
    if (o.rounds == 0 || o.rounds > 100000) throw CliError("--rounds must be 1 ... 100000");
    if (o.timeout_s == 0 || o.timeout_s > 86400) throw CliError("--timeout must be 1 ... 86400");
    if (o.spawn && (!o.rpc.rpc_url.empty() || !o.rpc.unix_socket.empty()))
        throw CliError(
            "--spawn starts its own signer: do not combine it with --rpc-url or "
            "--unix-socket");

    std::unique_ptr<SpawnedSigner> spawned;
    client::Endpoint endpoint;
    if (o.spawn) {
        spawned = std::make_unique<SpawnedSigner>();
        spawned->wait_ready();
        endpoint.url = spawned->url();
    } else {
        endpoint = make_endpoint(o.rpc);
    }
    endpoint.timeout = std::chrono::seconds(o.timeout_s);

    // Fresh keys: their history is empty, so every refusal must come from this run.
    Keys keys;
    {
        client::Client setup(endpoint);
        keys.gran = generate_key(setup, "gran", "ed25519");
        keys.babe = generate_key(setup, "babe", "sr25519");
        keys.para = generate_key(setup, "para", "sr25519");
        keys.asgn = generate_key(setup, "asgn", "sr25519");
        keys.audi = generate_key(setup, "audi", "sr25519");
        keys.beef = generate_key(setup, "beef", "ecdsa");
    }
    std::printf("tee-signer simulate: 2 nodes, %u rounds, seed %llu, signer %s%s\n", o.rounds,
                static_cast<unsigned long long>(o.seed), endpoint.url.c_str(),
                o.spawn ? " (spawned)" : "");
    std::printf("fresh keys: gran %s babe %s para %s beef %s\n\n", keys.gran.c_str(),
                keys.babe.c_str(), keys.para.c_str(), keys.beef.c_str());

    const Chain chain(o.seed);
    Node a('A', chain, keys, endpoint);
    Node b('B', chain, keys, endpoint);
    // Both nodes start each round together, so their requests for one vote race.
    std::barrier sync(2);
    const auto started = std::chrono::steady_clock::now();
    auto drive = [&sync, &o](Node& node) {
        for (unsigned r = 0; r < o.rounds; ++r) {
            sync.arrive_and_wait();
            node.round(r);
        }
    };
    std::thread ta([&] { drive(a); });
    std::thread tb([&] { drive(b); });
    ta.join();
    tb.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::vector<SimEvent> events = std::move(a.events());
    std::move(b.events().begin(), b.events().end(), std::back_inserter(events));
    if (!o.events_file.empty()) {
        std::ofstream out(o.events_file, std::ios::trunc);
        if (!out) throw CliError("cannot write " + o.events_file);
        for (const SimEvent& e : events) out << to_json(e).dump() << "\n";
    }
    const SimReport rep = check_events(events);
    print_report(events, rep);
    std::printf("time:                     %.1f s\n", seconds);
    return rep.ok() ? 0 : 1;
}

SimulateCommand::SimulateCommand(CLI::App& app) {
    sub_ = app.add_subcommand(
        "simulate",
        "Two redundant validator nodes with diverging chain views sign a realistic workload "
        "through one signer; checks that no equivocation gets through (docs/simulate.md)");
    add_rpc_options(sub_, options_.rpc);
    sub_->add_flag("--spawn", options_.spawn,
                   "Start a private `tee-signer serve` (soft TEE, temporary data directory, "
                   "Unix socket) and stop it afterwards");
    sub_->add_option("--rounds", options_.rounds,
                     "Rounds to replay: each a BABE slot, a GRANDPA round, para statements and "
                     "a BEEFY block (default 40)")
        ->type_name("N");
    sub_->add_option("--seed", options_.seed, "Seed of the chain views and forks (default 1)")
        ->type_name("N");
    sub_->add_option("--events", options_.events_file,
                     "Write every request and its outcome to FILE (JSON lines)")
        ->type_name("FILE");
    sub_->add_option("--timeout", options_.timeout_s,
                     "Seconds each request may take before the client gives up and counts it "
                     "as failed (default 30; raise it for a slow signer, e.g. under emulation)")
        ->type_name("SECONDS");
    sub_->add_option("--check-events", options_.check_events,
                     "Run the checks on a FILE written by --events instead of simulating")
        ->type_name("FILE");
}

}  // namespace teesigner::cli
