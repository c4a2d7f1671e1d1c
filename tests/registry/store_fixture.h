// Opens the store under test, chosen by RINGGATE_TEST_STORE (sqlite | postgresql): a
// SQLite file in a temp directory, or a database in a throwaway PostgreSQL cluster that
// pg_cluster.sh starts for the test program and stops at exit. Each test starts from an
// empty table. Exits 77 when PostgreSQL is asked for but its server is not installed.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "control/registry/server_store.h"

namespace ringgate::registry::test {

inline std::string storeKind() {
    const char* kind = std::getenv("RINGGATE_TEST_STORE");
    return kind ? kind : "sqlite";
}

class StoreEnvironment {
public:
    static StoreEnvironment& instance() {
        static StoreEnvironment environment;
        return environment;
    }

    // Another connection (or file handle) to the same table: concurrent callers.
    std::unique_ptr<ServerStore> open() {
        auto store = storeKind() == "postgresql" ? openPostgresStore(conninfo_) : openSqliteStore(sqlitePath_);
        if (!store) {
            ADD_FAILURE() << store.error().message;
            return nullptr;
        }
        return std::move(*store);
    }

    ~StoreEnvironment() {
        if (!pgDir_.empty()) {
            std::string stop = std::string(RINGGATE_TEST_DIR) + "/pg_cluster.sh stop " + pgDir_;
            (void)std::system(stop.c_str());
        }
        if (!tempDir_.empty()) (void)std::system(("rm -rf " + tempDir_).c_str());
    }

private:
    StoreEnvironment() {
        char pattern[] = "/tmp/ringgate-store-XXXXXX";
        tempDir_ = mkdtemp(pattern);
        chmod(tempDir_.c_str(), 0755);  // the postgres user must reach its data directory
        sqlitePath_ = tempDir_ + "/registry.db";
        if (storeKind() != "postgresql") return;
        if (!postgresStoreAvailable()) {
            std::fprintf(stderr, "SKIP: built without libpq\n");
            std::exit(77);
        }
        pgDir_ = tempDir_ + "/pg";
        std::string start = std::string(RINGGATE_TEST_DIR) + "/pg_cluster.sh start " + pgDir_;
        FILE* pipe = popen(start.c_str(), "r");
        char line[512] = {};
        bool got = pipe && std::fgets(line, sizeof line, pipe);
        int status = pipe ? pclose(pipe) : -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
            std::fprintf(stderr, "SKIP: PostgreSQL 15 server binaries are not installed\n");
            std::exit(77);
        }
        if (!got || status != 0) {
            std::fprintf(stderr, "cannot start a PostgreSQL cluster (status %d)\n", status);
            std::exit(1);
        }
        conninfo_ = line;
        while (!conninfo_.empty() && conninfo_.back() == '\n') conninfo_.pop_back();
    }

    std::string tempDir_;
    std::string sqlitePath_;
    std::string pgDir_;
    std::string conninfo_;
};

// Server n of the seed's tables is 198.19.0.n.
inline Ipv4Address server(uint32_t n) { return Ipv4Address{0xC6130000u + n}; }
inline ServerEntry row(uint32_t s, uint32_t a, uint32_t b) { return {server(s), server(a), server(b)}; }

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = StoreEnvironment::instance().open();
        ASSERT_TRUE(store_);
        ASSERT_TRUE(store_->load({}).ok());
    }
    void loadTable(std::vector<ServerEntry> entries, uint64_t version = 1) {
        auto loaded = store_->load({version, std::move(entries)});
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    }
    std::vector<ServerEntry> table() {
        auto snapshot = store_->snapshot();
        EXPECT_TRUE(snapshot.ok()) << (snapshot.ok() ? "" : snapshot.error().message);
        return snapshot.ok() ? snapshot->entries : std::vector<ServerEntry>{};
    }
    std::unique_ptr<ServerStore> store_;
};

}  // namespace ringgate::registry::test
