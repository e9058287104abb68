// Statement parameters and query results of the database layer, free of any libpqxx type.
//
// Param is one `$n` parameter: NULL, text, 64-bit integer, boolean or bytea. Text may not contain
// a NUL byte (PostgreSQL text cannot hold one; refusing it prevents silent truncation). Result is
// an immutable copy of the rows a statement returned; Row is a view on one row that keeps its
// Result's data alive. Typed getters check the column's SQL type and throw DbError(kInternal) on a
// NULL (use IsNull / the Opt getters), on a type mismatch or on an unknown column name.
// Thread-safety: immutable value types; safe to share between threads once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"

namespace realdid::db {

class Param {
 public:
  Param(std::nullopt_t) noexcept : value_(std::monostate{}) {}  // NOLINT: implicit by design
  Param(const char* text);                                       // NOLINT
  Param(std::string_view text);                                  // NOLINT
  Param(std::string text);                                       // NOLINT
  Param(const std::optional<std::string>& text);                 // NOLINT
  Param(int value) noexcept : value_(std::int64_t{value}) {}     // NOLINT
  Param(long value) noexcept : value_(std::int64_t{value}) {}    // NOLINT
  Param(long long value) noexcept : value_(std::int64_t{value}) {}  // NOLINT
  Param(bool value) noexcept : value_(value) {}                  // NOLINT
  Param(Bytes value) noexcept : value_(std::move(value)) {}      // NOLINT
  Param(ByteView value) : value_(Bytes(value.begin(), value.end())) {}  // NOLINT
  // Unsigned integers are refused at compile time: PostgreSQL has no unsigned type, cast first.
  Param(unsigned) = delete;
  Param(unsigned long) = delete;
  Param(unsigned long long) = delete;

  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(value_); }
  // The libpq text-format encoding of the value (bytea as "\x<hex>"); nullopt for NULL.
  std::optional<std::string> ToText() const;

 private:
  std::variant<std::monostate, std::string, std::int64_t, bool, Bytes> value_;
};

using Params = std::vector<Param>;

namespace detail {
// The copied rows of one statement. Built by the pool; cells are in libpq text format.
struct ResultData {
  std::vector<std::string> column_names;
  std::vector<std::uint32_t> column_types;             // PostgreSQL type OIDs
  std::vector<std::optional<std::string>> cells;       // row-major, rows * columns
  std::size_t rows = 0;
  std::uint64_t affected_rows = 0;
};
}  // namespace detail

class Row {
 public:
  std::size_t size() const noexcept { return data_->column_names.size(); }

  bool IsNull(std::size_t column) const;
  bool IsNull(std::string_view column) const { return IsNull(Index(column)); }

  // Text of any non-bytea column (text, varchar, json, jsonb, timestamptz, numeric ...).
  std::string GetString(std::size_t column) const;
  std::string GetString(std::string_view column) const { return GetString(Index(column)); }
  std::int64_t GetInt64(std::size_t column) const;  // smallint, integer, bigint
  std::int64_t GetInt64(std::string_view column) const { return GetInt64(Index(column)); }
  bool GetBool(std::size_t column) const;
  bool GetBool(std::string_view column) const { return GetBool(Index(column)); }
  Bytes GetBytes(std::size_t column) const;  // bytea
  Bytes GetBytes(std::string_view column) const { return GetBytes(Index(column)); }

  std::optional<std::string> GetOptString(std::string_view column) const;
  std::optional<std::int64_t> GetOptInt64(std::string_view column) const;
  std::optional<Bytes> GetOptBytes(std::string_view column) const;

  // Column index by name; throws DbError(kInternal) when there is no such column.
  std::size_t Index(std::string_view column) const;

 private:
  friend class Result;
  Row(std::shared_ptr<const detail::ResultData> data, std::size_t row) noexcept
      : data_(std::move(data)), row_(row) {}
  const std::optional<std::string>& Cell(std::size_t column) const;
  const std::string& NonNull(std::size_t column) const;

  std::shared_ptr<const detail::ResultData> data_;
  std::size_t row_;
};

class Result {
 public:
  Result() : data_(std::make_shared<detail::ResultData>()) {}
  explicit Result(std::shared_ptr<const detail::ResultData> data) noexcept
      : data_(std::move(data)) {}

  std::size_t size() const noexcept { return data_->rows; }
  bool empty() const noexcept { return data_->rows == 0; }
  std::size_t columns() const noexcept { return data_->column_names.size(); }
  // Rows inserted/updated/deleted by an INSERT/UPDATE/DELETE.
  std::uint64_t affected_rows() const noexcept { return data_->affected_rows; }
  // Row i; throws DbError(kInternal) when out of range.
  Row operator[](std::size_t i) const;
  Row at(std::size_t i) const { return (*this)[i]; }
  // Exactly one row, else DbError(kInternal) naming the row count.
  Row One() const;

 private:
  std::shared_ptr<const detail::ResultData> data_;
};

}  // namespace realdid::db
