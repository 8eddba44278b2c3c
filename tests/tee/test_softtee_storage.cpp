// The soft TEE's GP persistent-object storage in process (tee/softtee/storage.cpp
// without the TA process around it): removals staged in a transaction
// (TS_BeginTransaction ... TS_CommitTransaction) and how they combine with
// staged writes, across a reload of the storage (what a TA restart reads).
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "child.hpp"
#include "tee_internal_api.h"
#include "ts_softtee_storage.h"

namespace fs = std::filesystem;
namespace softtee = teesigner::softtee;

// The process runner's log, kept for the tests to read.
static std::string g_log;
void teesigner::softtee::child_log(const char* fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g_log += line;
    g_log += '\n';
}

// A misuse of the GP API by the test itself.
extern "C" void TEE_Panic(TEE_Result code) {
    std::fprintf(stderr, "TEE_Panic(0x%08x)\n", code);
    std::abort();
}

namespace {

constexpr uint32_t kFlags = TEE_DATA_FLAG_ACCESS_READ | TEE_DATA_FLAG_ACCESS_WRITE |
                            TEE_DATA_FLAG_ACCESS_WRITE_META | TEE_DATA_FLAG_OVERWRITE;

class StorageTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_GE(sodium_init(), 0);
        dir_ = fs::temp_directory_path() /
               ("ts-storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        fs::remove_all(dir_);
        ASSERT_EQ(softtee::storage_prepare(dir_.c_str()), TEE_SUCCESS)
            << softtee::storage_failure_reason();
        ASSERT_EQ(softtee::storage_load(), TEE_SUCCESS) << softtee::storage_failure_reason();
        g_log.clear();
    }
    void TearDown() override {
        softtee::storage_close();
        fs::remove_all(dir_);
    }

    // What a TA restart sees: an orderly stop, then the storage read again.
    void reload() {
        softtee::storage_close();
        ASSERT_EQ(softtee::storage_load(), TEE_SUCCESS) << softtee::storage_failure_reason();
    }

    static void write(const std::string& id, const std::string& content) {
        TEE_ObjectHandle h = TEE_HANDLE_NULL;
        ASSERT_EQ(TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(), kFlags,
                                             TEE_HANDLE_NULL, content.data(), content.size(), &h),
                  TEE_SUCCESS);
        TEE_CloseObject(h);
    }

    static void remove(const std::string& id) {
        TEE_ObjectHandle h = TEE_HANDLE_NULL;
        ASSERT_EQ(TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(), kFlags, &h),
                  TEE_SUCCESS);
        ASSERT_EQ(TEE_CloseAndDeletePersistentObject1(h), TEE_SUCCESS);
    }

    // The object's content, or "(absent)".
    static std::string read(const std::string& id) {
        TEE_ObjectHandle h = TEE_HANDLE_NULL;
        const TEE_Result rc = TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(),
                                                       TEE_DATA_FLAG_ACCESS_READ, &h);
        if (rc == TEE_ERROR_ITEM_NOT_FOUND) return "(absent)";
        EXPECT_EQ(rc, TEE_SUCCESS);
        if (rc != TEE_SUCCESS) return "(error)";
        char buf[256];
        size_t n = 0;
        EXPECT_EQ(TEE_ReadObjectData(h, buf, sizeof buf, &n), TEE_SUCCESS);
        TEE_CloseObject(h);
        return std::string(buf, n);
    }

    size_t object_files() const {
        size_t n = 0;
        for (const auto& entry : fs::directory_iterator(dir_))
            n += entry.path().filename().string()[0] == 'o';
        return n;
    }

    fs::path dir_;
    static inline int counter_ = 0;
};

TEST_F(StorageTest, StagedRemovalsGoTogetherAfterTheWrites) {
    for (const char* id : {"a", "b", "c"}) write(id, std::string("first ") + id);
    reload();  // every object in its file
    ASSERT_EQ(object_files(), 3u);

    TS_BeginTransaction();
    write("d", "new d");
    write("a", "second a");
    remove("b");
    remove("c");
    // Staged: nothing is removed before the commit.
    EXPECT_EQ(object_files(), 3u);
    ASSERT_EQ(TS_CommitTransaction(), TEE_SUCCESS);
    EXPECT_NE(g_log.find("removed 2 objects in one checkpoint"), std::string::npos) << g_log;
    EXPECT_EQ(object_files(), 2u);  // a, and d written by the removals' checkpoint
    for (int restart = 0; restart < 2; ++restart) {
        EXPECT_EQ(read("a"), "second a");
        EXPECT_EQ(read("b"), "(absent)");
        EXPECT_EQ(read("c"), "(absent)");
        EXPECT_EQ(read("d"), "new d");
        reload();
    }
}

TEST_F(StorageTest, AWriteAfterAStagedRemovalWinsAndAnAbortRemovesNothing) {
    write("a", "first a");
    write("b", "first b");
    TS_BeginTransaction();
    remove("a");
    write("a", "second a");
    remove("b");
    TS_AbortTransaction();
    EXPECT_EQ(read("a"), "first a");
    EXPECT_EQ(read("b"), "first b");

    TS_BeginTransaction();
    remove("a");
    write("a", "second a");
    ASSERT_EQ(TS_CommitTransaction(), TEE_SUCCESS);
    for (int restart = 0; restart < 2; ++restart) {
        EXPECT_EQ(read("a"), "second a");
        EXPECT_EQ(read("b"), "first b");
        reload();
    }
}

TEST_F(StorageTest, ARemovalOutsideATransactionIsImmediate) {
    write("a", "first a");
    reload();
    remove("a");
    EXPECT_EQ(read("a"), "(absent)");
    EXPECT_EQ(object_files(), 0u);
    reload();
    EXPECT_EQ(read("a"), "(absent)");
}

// Idle-time write-behind (storage_idle_step): past 1 MiB of journal, the TA
// process's idle time writes object files one at a time, the one committed
// longest ago first, skipping objects committed in the last 256 writes, so
// that the checkpoint at the journal's limit does not write them all at once
// on a command's path.
constexpr int kObjects = 100;
constexpr int kRounds = 40;  // 4,000 commits of about 400 journal bytes: > 1 MiB, < 4 MiB

std::string id_of(int i) {
    return "object " + std::to_string(i);
}
std::string content_of(int i, const std::string& round) {
    return (round + " of " + id_of(i)).append(160, '.');
}

// Commits rounds 0 .. rounds-1 of objects 0 .. objects-1.
void commit_rounds(int rounds, int objects) {
    for (int round = 0; round < rounds; ++round)
        for (int i = 0; i < objects; ++i) {
            TEE_ObjectHandle h = TEE_HANDLE_NULL;
            const std::string id = id_of(i), content = content_of(i, std::to_string(round));
            ASSERT_EQ(
                TEE_CreatePersistentObject(TEE_STORAGE_PRIVATE, id.data(), id.size(), kFlags,
                                           TEE_HANDLE_NULL, content.data(), content.size(), &h),
                TEE_SUCCESS);
            TEE_CloseObject(h);
        }
}

// Rounds 0-39 of every object, then 0-24 of the first half: the second half,
// last committed 1,250 writes before, is cold; the first half is not.
void commit_then_cool_the_second_half() {
    commit_rounds(kRounds, kObjects);
    EXPECT_FALSE(softtee::storage_idle_work_pending())
        << "every object was committed in the last 100 writes";
    commit_rounds(25, kObjects / 2);
}

std::string latest_content(int i) {
    return content_of(i, std::to_string(i < kObjects / 2 ? 24 : kRounds - 1));
}

TEST_F(StorageTest, IdleTimeWritesTheObjectsNotCommittedRecently) {
    EXPECT_FALSE(softtee::storage_idle_work_pending());
    commit_then_cool_the_second_half();
    EXPECT_EQ(object_files(), 0u) << "before any checkpoint, the objects are in the journal";
    ASSERT_TRUE(softtee::storage_idle_work_pending());
    int steps = 0;
    while (softtee::storage_idle_work_pending() && steps < 1000) {
        softtee::storage_idle_step();
        ++steps;
        if (steps == 20) {
            EXPECT_EQ(object_files(), 20u) << "one file per step";
        }
    }
    EXPECT_EQ(steps, kObjects / 2) << "the second half; the first half is left to the checkpoint";
    EXPECT_EQ(object_files(), static_cast<size_t>(kObjects / 2));
    for (int restart = 0; restart < 2; ++restart) {
        for (int i = 0; i < kObjects; ++i) ASSERT_EQ(read(id_of(i)), latest_content(i));
        reload();
        EXPECT_EQ(object_files(), static_cast<size_t>(kObjects));
    }
}

// A crash part way: some files written in idle time, some of those objects
// committed again since (their files are older than the journal), the counter
// not yet rewritten. Start-up from exactly those files loses nothing.
TEST_F(StorageTest, ACrashDuringIdleWritesLosesNothing) {
    commit_then_cool_the_second_half();
    for (int step = 0; step < 30; ++step) softtee::storage_idle_step();
    ASSERT_EQ(object_files(), 30u);
    std::vector<std::string> expected;
    for (int i = 0; i < kObjects; ++i) expected.push_back(latest_content(i));
    for (int i = 0; i < kObjects; i += 10) {
        write(id_of(i), content_of(i, "after"));  // 50, 60 and 70 among the files written
        expected[static_cast<size_t>(i)] = content_of(i, "after");
    }
    // What the disk holds at the crash (at least: a copy also has what was not synced).
    const fs::path crash = dir_.string() + "-crash";
    fs::remove_all(crash);
    fs::copy(dir_, crash, fs::copy_options::recursive);
    softtee::storage_close();
    for (const auto& entry : fs::directory_iterator(dir_)) fs::remove(entry.path());
    for (const auto& entry : fs::directory_iterator(crash))
        fs::copy(entry.path(), dir_ / entry.path().filename());
    fs::remove_all(crash);
    ASSERT_EQ(softtee::storage_load(), TEE_SUCCESS) << softtee::storage_failure_reason();
    for (int restart = 0; restart < 2; ++restart) {
        for (int i = 0; i < kObjects; ++i)
            ASSERT_EQ(read(id_of(i)), expected[static_cast<size_t>(i)]) << id_of(i);
        reload();
    }
}

// A failure returns the GP error that names its kind, and its reason (what
// failed, on which file) is logged once and kept for the start-up report.
TEST_F(StorageTest, AStartUpFailureReturnsItsKindAndKeepsItsReason) {
    write("a", "content");
    softtee::storage_close();
    {
        std::FILE* f = std::fopen((dir_ / "counter").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fputs("not a counter file", f);
        std::fclose(f);
    }
    g_log.clear();
    EXPECT_EQ(softtee::storage_load(), TEE_ERROR_CORRUPT_OBJECT);
    EXPECT_EQ(softtee::storage_failure_reason(), "counter file is malformed");
    EXPECT_EQ(g_log, "storage: counter file is malformed\n");

    fs::remove(dir_ / "counter");
    g_log.clear();
    EXPECT_EQ(softtee::storage_load(), TEE_ERROR_SECURITY);
    EXPECT_NE(softtee::storage_failure_reason().find("counter file is missing"), std::string::npos)
        << softtee::storage_failure_reason();
    EXPECT_EQ(g_log, "storage: " + softtee::storage_failure_reason() + "\n");
}

TEST_F(StorageTest, AMissingObjectFileIsReportedWithItsName) {
    write("a", "content");
    reload();  // the checkpoint writes the object's file
    ASSERT_EQ(object_files(), 1u);
    std::string file;
    for (const auto& entry : fs::directory_iterator(dir_))
        if (entry.path().filename().string()[0] == 'o') file = entry.path().filename().string();
    fs::remove(dir_ / file);
    g_log.clear();
    TEE_ObjectHandle h = TEE_HANDLE_NULL;
    EXPECT_EQ(TEE_OpenPersistentObject(TEE_STORAGE_PRIVATE, "a", 1, TEE_DATA_FLAG_ACCESS_READ, &h),
              TEE_ERROR_CORRUPT_OBJECT);
    EXPECT_TRUE(h == TEE_HANDLE_NULL);
    EXPECT_EQ(softtee::storage_failure_reason(),
              "object " + file + " is recorded (version 1) but its file is missing");
    EXPECT_NE(g_log.find(softtee::storage_failure_reason()), std::string::npos) << g_log;
}

}  // namespace
