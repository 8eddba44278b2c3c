#include <libpq-fe.h>

#include "sql_session.hpp"

namespace teesigner::signerd::sqldb {
namespace {

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// ?N -> $N (the SQL text is ours and holds no '?' elsewhere).
std::string pg_placeholders(const std::string& sql) {
    std::string out = sql;
    for (size_t i = 0; i + 1 < out.size(); ++i)
        if (out[i] == '?' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '$';
    return out;
}

class PgSession final : public Session {
  public:
    explicit PgSession(std::string url) : url_(std::move(url)) { connect(); }

    void ensure_connected() override {
        if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) connect();
    }

    void exec(const std::string& sql) override { (void)run(sql, {}); }

    std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
        PgResult res = run(pg_placeholders(sql), params);
        std::vector<Row> rows;
        const int n = PQntuples(res.get()), cols = PQnfields(res.get());
        for (int r = 0; r < n; ++r) {
            Row row;
            for (int c = 0; c < cols; ++c) row.emplace_back(PQgetvalue(res.get(), r, c));
            rows.push_back(std::move(row));
        }
        return rows;
    }

    void begin() override { exec("BEGIN ISOLATION LEVEL SERIALIZABLE"); }
    void commit() override { exec("COMMIT"); }
    void rollback() noexcept override {
        if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK &&
            PQtransactionStatus(conn_.get()) != PQTRANS_IDLE)
            PQclear(PQexec(conn_.get(), "ROLLBACK"));
    }
    // Requests for one key queue on a session advisory lock taken before BEGIN,
    // so that each transaction's snapshot already holds the previous one's
    // record: concurrent signers then rarely hit serialization failures (which
    // SERIALIZABLE still catches, and which are retried, if they happen).
    void lock(const std::string& key) override {
        (void)query("SELECT pg_advisory_lock(hashtextextended(?1, 0))", {key});
    }
    void unlock(const std::string& key) noexcept override {
        if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) return;  // died with the session
        const char* values[] = {key.c_str()};
        PQclear(PQexecParams(conn_.get(), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1,
                             nullptr, values, nullptr, nullptr, 0));
    }

  private:
    void connect() {
        // A bounded connect: an unreachable server must fail the request, not hang it.
        // The URL comes last so that its own connect_timeout wins.
        const char* keys[] = {"connect_timeout", "dbname", nullptr};
        const char* values[] = {"5", url_.c_str(), nullptr};
        conn_.reset(PQconnectdbParams(keys, values, 1));
        if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
            std::string why = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
            while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
            conn_.reset();
            throw DbError(
                "cannot connect to PostgreSQL (" + redact_postgres_url(url_) + "): " + why, true,
                true);
        }
        // Our own notices (e.g. "relation already exists") are not worth a log line.
        PQsetNoticeProcessor(
            conn_.get(), [](void*, const char*) {}, nullptr);
    }

    PgResult run(const std::string& sql, const std::vector<Value>& params) {
        if (!conn_) connect();
        std::vector<std::string> text(params.size());
        std::vector<const char*> values(params.size(), nullptr);
        for (size_t i = 0; i < params.size(); ++i) {
            if (const auto* v = std::get_if<int64_t>(&params[i])) {
                text[i] = std::to_string(*v);
                values[i] = text[i].c_str();
            } else if (const auto* s = std::get_if<std::string>(&params[i])) {
                values[i] = s->c_str();
            }
        }
        PgResult res(params.empty()
                         ? PQexec(conn_.get(), sql.c_str())
                         : PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()),
                                        nullptr, values.data(), nullptr, nullptr, 0));
        const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
        const char* state = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
        const std::string sqlstate = state ? state : "";
        std::string message = PQerrorMessage(conn_.get());
        while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
            message.pop_back();
        if (PQstatus(conn_.get()) != CONNECTION_OK) {
            conn_.reset();
            throw DbError("PostgreSQL connection lost: " + message, true, true);
        }
        // 40001 serialization failure, 40P01 deadlock, 23505 a concurrent insert of
        // the same vote: the transaction can run again and see the other one's record.
        const bool retry = sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "23505";
        throw DbError(
            "PostgreSQL " + (sqlstate.empty() ? std::string("error") : sqlstate) + ": " + message,
            retry);
    }

    std::string url_;
    std::unique_ptr<PGconn, PgConnDeleter> conn_;
};

}  // namespace

std::unique_ptr<Session> open_postgres_session(const std::string& url) {
    return std::make_unique<PgSession>(url);
}

}  // namespace teesigner::signerd::sqldb
