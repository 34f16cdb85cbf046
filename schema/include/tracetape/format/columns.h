// The compact column encodings of format 2 chunks (schema/FORMAT.md, "Chunk
// columns"): LEB128 varints, string references relative to the next new
// string, and the string table packed as literals and edits of earlier
// strings. The writer and the reader share these so they cannot disagree;
// every decoder here treats its input as untrusted and fails with a Status,
// never reading or allocating past its bounds.
#ifndef TRACETAPE_FORMAT_COLUMNS_H_
#define TRACETAPE_FORMAT_COLUMNS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tracetape/format/status.h"

namespace tracetape::format {

// Decoded bytes of one chunk's string table, at most: a packed table could
// otherwise expand quadratically (every string an edit of a long one).
inline constexpr uint64_t kMaxStringTableBytes = 64u << 20;

void PutVarint(std::string* out, uint64_t v);
// Reads one varint of at most 64 bits at data[*pos], advancing *pos. False if
// it runs past `size` or over 10 bytes.
bool GetVarint(const uint8_t* data, size_t size, size_t* pos, uint64_t* v);

// String references: 0 is the next new string ("fresh": one past the highest
// id referenced so far), 1 is "unbound" (delta_value only). Otherwise, in
// delta_name and value_ref, k >= 2 is string id k - 2; in delta_value, k >= 2
// is string id fresh - (k - 1), counting back from the newest string.
inline constexpr uint32_t kRefFresh = 0;
inline constexpr uint32_t kRefUnbound = 1;
inline constexpr uint32_t kRefBias = 2;

// Appends one packed string-table entry for `s`: an edit of `base` (the
// string `distance` entries earlier) when that is shorter, else a literal.
// distance == 0 means no base.
void PackString(std::string_view s, std::string_view base, uint64_t distance, std::string* out);

// Decodes a packed string table. Fails (Corrupt) on any entry that runs past
// the data, names a base outside the table, edits past its base, or would
// make the table's decoded size exceed `max_bytes`.
Status UnpackStrings(const uint8_t* data, size_t size, uint64_t max_bytes, std::vector<std::string>* out);

}  // namespace tracetape::format

#endif  // TRACETAPE_FORMAT_COLUMNS_H_
