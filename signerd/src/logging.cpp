#include "logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "errors.hpp"

namespace teesigner::signerd {
namespace {

// {"ts":"2024-01-02T03:04:05.678Z","level":"info","logger":"signerd","thread":123,"msg":"..."}
class JsonFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        using namespace std::chrono;
        const auto since_epoch = msg.time.time_since_epoch();
        const auto secs = duration_cast<seconds>(since_epoch);
        const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
        const std::time_t t = static_cast<std::time_t>(secs.count());
        std::tm tm{};
        gmtime_r(&t, &tm);
        char ts[64];
        std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(millis));
        const auto level = spdlog::level::to_string_view(msg.level);
        std::string line = "{\"ts\":\"";
        line += ts;
        line += "\",\"level\":\"";
        line.append(level.data(), level.size());
        line += "\",\"logger\":\"";
        line += json_escape(std::string(msg.logger_name.data(), msg.logger_name.size()));
        line += "\",\"thread\":";
        line += std::to_string(msg.thread_id);
        line += ",\"msg\":\"";
        line += json_escape(std::string(msg.payload.data(), msg.payload.size()));
        line += "\"}\n";
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

}  // namespace

std::string json_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (unsigned char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

void setup_logging(const std::string& format, const std::string& level) {
    const auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off")
        throw ConfigError("unknown log level \"" + level + "\"");
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("signerd", sink);
    if (format == "json") {
        logger->set_formatter(std::make_unique<JsonFormatter>());
    } else if (format == "text") {
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
    } else {
        throw ConfigError("unknown log format \"" + format + "\" (use text or json)");
    }
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

}  // namespace teesigner::signerd
