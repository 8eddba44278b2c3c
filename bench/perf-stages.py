#!/usr/bin/env python3
# Where the CPU of a signer under load goes, by request stage (docs/PERFORMANCE.md,
# "Where the time goes"). Input: `perf script --no-inline -F
# comm,tid,ip,sym` of a `perf record -e cpu-clock --call-graph dwarf` of
# `tee-signer serve` (its TA process is recorded through inheritance), e.g.
#   PERF=1 bash bench/cpu-per-request.sh build-bench 16 5
#   perf script --no-inline -i build-bench/perf-signer.data -F comm,tid,ip,sym > s.txt
#   python3 bench/perf-stages.py label=s.txt=CPU_US_PER_REQUEST [label2=...]
# Each sample goes to the first stage (in the order below) any frame of its stack
# belongs to; the kernel part of each stage is split by kind (futex: thread
# hand-offs; socket: client and TA socket syscalls; fs: the databases' and the
# TA's file syscalls). CPU_US_PER_REQUEST (signer
# + TA, from cpu-per-request.sh) turns the shares into microseconds.
import sys, re, collections
def name(sym):
    s = re.sub(r"\(.*", "", sym)
    depth=0; out=""
    for ch in s:
        if ch=='<': depth+=1
        elif ch=='>': depth-=1
        elif depth==0: out+=ch
    return out
def anyf(frames, rx): return any(rx.search(n) for n in frames)
R=lambda p: re.compile(p)
def signer_stage(names, ks, raw):
    # The host protection database (database = "sqlite" or "postgres"), by
    # thread role; matched on the raw symbols, since a thread's entry names
    # its class only inside std::thread's template arguments.
    if anyf(raw, R(r"WalCheckpointer")): return "host DB: WAL checkpointer thread"
    if anyf(raw, R(r"write_audit_rows|insert_audit_rows")): return "host DB: audit-log writer thread"
    if anyf(raw, R(r"^sqlite3|^PQ|^pq|SqlProtectionDb|SqliteSession|PgSession")): return "host DB: signing batch (SQLite / libpq and the batch code)"
    if anyf(names, R(r"^TEEC_|softtee::")): return "TEE hop (frame encode, socketpair syscalls)"
    if anyf(names, R(r"TeeKeyService")): return "TEE key service (SCALE, group-commit queue, hand-off to leader)"
    if anyf(names, R(r"Metrics::|^spdlog|install_call_observer")): return "metrics + logging"
    if anyf(names, R(r"^nlohmann")): return "JSON parse / build / serialize"
    if anyf(names, R(r"RpcDispatcher|rpc_methods|from_hex|to_hex|parse_hex|Params::|register_rpc_methods")): return "RPC dispatch + handlers (hex, params)"
    if anyf(names, R(r"WsSession|HttpSession|^boost::beast|^boost::asio|^std::thread")): return "server I/O: Beast + asio (socket syscalls, epoll, strand/pool hand-offs)"
    return "other"
def ta_stage(names, ks, leaf):
    if anyf(names, R(r"TEE_OpenPersistentObject|TEE_ReadObjectData|TEE_CloseObject|TEE_GetObjectInfo|TeeBlobStore::read|read_secret|read_object|softtee::.*load")): return "sealed-object read + AEAD decrypt"
    if anyf(names, R(r"journal_append|commit_objects|checkpoint|remove_objects|write_counter|TS_CommitTransaction")): return "sealed storage commit (journal record + fdatasync, checkpoints)"
    if anyf(names, R(r"key_types_of|key_exists|ByteKeyCache|key_object_id")): return "key lookup probes (key types)"
    if anyf(names, R(r"sr25519|KeyPair::|Strobe|keccak|merlin|Transcript|^crypto_|ristretto|blake2|TEE_GenerateRandom")) or leaf=="[unknown]": return "crypto (sr25519 sign, blake2b, nonce)"
    if anyf(names, R(r"parse_request|build_response|read_frame|write_frame|softtee::.*serve|sodium_memzero|^__libc_|^read$|^__send")): return "TA frame I/O (parse, build, socket syscalls)"
    if anyf(names, R(r"TA_InvokeCommandEntryPoint|dispatch|cmd_|run_protected|finish|Protector")): return "TA dispatch, policy decision, batch bookkeeping"
    return "other"
def kindof(kf):
    ks=" ".join(kf)
    if not kf: return "user"
    if "futex" in ks: return "futex"
    if re.search(r"ext4|jbd2|filemap|iomap|fdatasync|fsync", ks): return "fs"
    if re.search(r"unix_stream|sock_|sendmsg|recvmsg|sendto|recvfrom|ksys_read|ksys_write|vfs_read|vfs_write|do_sys_poll|poll", ks): return "socket"
    if "epoll" in ks: return "epoll"
    if re.search(r"stat|path|open|fsync|dentry", ks): return "fs"
    return "other-kernel"
def run(path):
    tot=collections.Counter(); st=collections.Counter(); kd=collections.Counter()
    cur=None; fr=[]
    def flush():
        if cur is None or not fr: return
        u=[name(s) for k,s in fr if k=='u']; kf=[s for k,s in fr if k=='k']
        leaf = u[0] if u else ""
        if cur.startswith("tee-signer"): s="signer: "+signer_stage(u, kf, [s for k,s in fr if k=='u'])
        else: s="TA: "+ta_stage(u, kf, leaf)
        tot[cur]+=1; st[s]+=1; kd[(s,kindof(kf))]+=1
    for line in open(path, errors="replace"):
        if not line.strip():
            flush(); cur=None; fr=[]; continue
        if not line.startswith("\t"):
            cur=line.split()[0]; fr=[]; continue
        p=line.strip().split(None,1)
        if len(p)<2: continue
        fr.append(('k' if p[0].startswith('ffffffff') else 'u', p[1]))
    flush()
    return tot, st, kd
import json
res={}
for label, path, cpu in [(a.split('=')[0], a.split('=')[1], float(a.split('=')[2])) for a in sys.argv[1:]]:
    res[label]=(run(path), cpu)
labels=list(res)
stages=sorted(set(s for l in labels for s in res[l][0][1]), key=lambda s:(not s.startswith("signer"), -res[labels[0]][0][1][s]))
print("stage | " + " | ".join(f"{l} % | {l} µs" for l in labels))
for s in stages:
    row=[]
    for l in labels:
        (tot,st,kd),cpu=res[l]; n=sum(tot.values())
        row.append(f"{100*st[s]/n:.1f} | {cpu*st[s]/n:.1f}")
    (tot,st,kd),cpu=res[labels[-1]]
    kinds=", ".join(f"{k} {100*v/max(1,st[s]):.0f}%" for (ss,k),v in sorted(kd.items(), key=lambda x:-x[1]) if ss==s)
    print(f"{s} | " + " | ".join(row) + f" | [{kinds}]")
for l in labels:
    (tot,st,kd),cpu=res[l]; print(l, dict(tot))
