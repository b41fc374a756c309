#pragma once

#include <memory>
#include <string>
#include <vector>

#define SPDLOG_API __attribute__((visibility("default")))
#define SPDLOG_INLINE inline
#define LOG_LEVEL(x) (x)

namespace spdlog {
namespace level {
enum level_enum : int { trace = 0, debug, info, warn, err, off };
}

class SPDLOG_API formatter {
public:
    virtual ~formatter() = default;
    virtual void format(const std::string &msg, std::string &dest) = 0;
    virtual std::unique_ptr<formatter> clone() const = 0;
};

class SPDLOG_API logger {
public:
    explicit logger(std::string name);
    logger(const logger &other);
    logger &operator=(logger other) noexcept;
    virtual ~logger() = default;

    void log(level::level_enum lvl, const std::string &msg);
    void flush();
    bool should_log(level::level_enum msg_level) const;
    const std::string &name() const;
    static std::shared_ptr<logger> default_logger();

protected:
    std::string name_;
    int flush_level_ = 0;
    bool tracing_ = false;
    std::vector<std::string> sinks_;
    level::level_enum level_ = level::info;

private:
    void sink_it_(const std::string &msg);
};

struct SPDLOG_API source_loc {
    const char *filename = nullptr;
    int line = 0;
    const char *funcname{nullptr};
};

template<typename T>
struct is_convertible_to_any_format_string {
    static constexpr bool value = false;
};

template<>
struct is_convertible_to_any_format_string<std::string> {
    static constexpr bool value = true;
};

template<typename Mutex>
class base_sink {
public:
    void log(const std::string &msg);
    void set_pattern(const std::string &pattern);

protected:
    Mutex mutex_;
    virtual void sink_it_(const std::string &msg) = 0;
};

template<>
class base_sink<int> {
public:
    void log(const std::string &msg);
};

using sink_ptr = std::shared_ptr<base_sink<int>>;
typedef unsigned long log_clock;

union level_or_flags {
    int level;
    unsigned flags;
};

SPDLOG_INLINE void logger::flush()
{
    sinks_.clear();
}

SPDLOG_INLINE bool logger::should_log(level::level_enum msg_level) const
{
    return msg_level >= level_;
}

template<typename Mutex>
void base_sink<Mutex>::log(const std::string &msg)
{
    sink_it_(msg);
}

SPDLOG_API void set_level(level::level_enum log_level);
SPDLOG_API std::shared_ptr<logger> get(const std::string &name);

inline int default_level = LOG_LEVEL(2);

static int count_loggers(const std::vector<logger> &all)
{
    return static_cast<int>(all.size());
}
} // namespace spdlog
