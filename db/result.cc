#include "db/result.h"

#include <charconv>
#include <cstring>

#include "db/db_error.h"

namespace realdid::db {
namespace {

// PostgreSQL built-in type OIDs (pg_type.dat); stable across versions.
constexpr std::uint32_t kBoolOid = 16;
constexpr std::uint32_t kByteaOid = 17;
constexpr std::uint32_t kInt8Oid = 20;
constexpr std::uint32_t kInt2Oid = 21;
constexpr std::uint32_t kInt4Oid = 23;

[[noreturn]] void Internal(const std::string& detail) {
  throw DbError(ErrorKind::kInternal, "database result: " + detail, "", false);
}

std::string CheckedText(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw DbError(ErrorKind::kInvalidInput, "database parameter: text contains a NUL byte", "",
                  false);
  }
  return std::string(text);
}

}  // namespace

Param::Param(const char* text) : value_(CheckedText(text == nullptr ? "" : text)) {
  if (text == nullptr) value_ = std::monostate{};
}
Param::Param(std::string_view text) : value_(CheckedText(text)) {}
Param::Param(std::string text) : value_(CheckedText(text)) {}
Param::Param(const std::optional<std::string>& text) : value_(std::monostate{}) {
  if (text.has_value()) value_ = CheckedText(*text);
}

std::optional<std::string> Param::ToText() const {
  struct Visitor {
    std::optional<std::string> operator()(std::monostate) const { return std::nullopt; }
    std::optional<std::string> operator()(const std::string& s) const { return s; }
    std::optional<std::string> operator()(std::int64_t v) const { return std::to_string(v); }
    std::optional<std::string> operator()(bool v) const {
      return std::string(v ? "true" : "false");
    }
    std::optional<std::string> operator()(const Bytes& b) const { return "\\x" + ToHex(b); }
  };
  return std::visit(Visitor{}, value_);
}

const std::optional<std::string>& Row::Cell(std::size_t column) const {
  if (column >= data_->column_names.size()) {
    Internal("column index " + std::to_string(column) + " out of range");
  }
  return data_->cells[row_ * data_->column_names.size() + column];
}

const std::string& Row::NonNull(std::size_t column) const {
  const auto& cell = Cell(column);
  if (!cell.has_value()) Internal("column '" + data_->column_names[column] + "' is NULL");
  return *cell;
}

std::size_t Row::Index(std::string_view column) const {
  for (std::size_t i = 0; i < data_->column_names.size(); ++i) {
    if (data_->column_names[i] == column) return i;
  }
  Internal("no column named '" + std::string(column) + "'");
}

bool Row::IsNull(std::size_t column) const { return !Cell(column).has_value(); }

std::string Row::GetString(std::size_t column) const {
  if (column < data_->column_types.size() && data_->column_types[column] == kByteaOid) {
    Internal("column '" + data_->column_names[column] + "' is bytea, not text");
  }
  return NonNull(column);
}

std::int64_t Row::GetInt64(std::size_t column) const {
  const std::string& text = NonNull(column);
  const std::uint32_t type = data_->column_types[column];
  if (type != kInt8Oid && type != kInt4Oid && type != kInt2Oid) {
    Internal("column '" + data_->column_names[column] + "' is not an integer");
  }
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    Internal("column '" + data_->column_names[column] + "' is not a valid integer");
  }
  return value;
}

bool Row::GetBool(std::size_t column) const {
  const std::string& text = NonNull(column);
  if (data_->column_types[column] != kBoolOid) {
    Internal("column '" + data_->column_names[column] + "' is not boolean");
  }
  if (text == "t") return true;
  if (text == "f") return false;
  Internal("column '" + data_->column_names[column] + "' is not a valid boolean");
}

Bytes Row::GetBytes(std::size_t column) const {
  const std::string& text = NonNull(column);
  if (data_->column_types[column] != kByteaOid) {
    Internal("column '" + data_->column_names[column] + "' is not bytea");
  }
  // bytea_output = hex (the default since PostgreSQL 9.0; the pool sets it on every connection).
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') {
    Internal("column '" + data_->column_names[column] + "' is not in bytea hex format");
  }
  try {
    return FromHex(std::string_view(text).substr(2));
  } catch (const realdid::Error&) {
    Internal("column '" + data_->column_names[column] + "' holds malformed bytea hex");
  }
}

std::optional<std::string> Row::GetOptString(std::string_view column) const {
  const std::size_t i = Index(column);
  if (IsNull(i)) return std::nullopt;
  return GetString(i);
}
std::optional<std::int64_t> Row::GetOptInt64(std::string_view column) const {
  const std::size_t i = Index(column);
  if (IsNull(i)) return std::nullopt;
  return GetInt64(i);
}
std::optional<Bytes> Row::GetOptBytes(std::string_view column) const {
  const std::size_t i = Index(column);
  if (IsNull(i)) return std::nullopt;
  return GetBytes(i);
}

Row Result::operator[](std::size_t i) const {
  if (i >= data_->rows) Internal("row index " + std::to_string(i) + " out of range");
  return Row(data_, i);
}

Row Result::One() const {
  if (data_->rows != 1) {
    Internal("expected exactly one row, got " + std::to_string(data_->rows));
  }
  return Row(data_, 0);
}

}  // namespace realdid::db
