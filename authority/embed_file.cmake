# Embeds a file as a byte array: cmake -DIN=<file> -DOUT=<.cc> -DSYMBOL=<name> -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}.tmp"
  "// Generated from ${IN} by authority/embed_file.cmake at build time. Do not edit.\n"
  "#include <cstddef>\n"
  "namespace realdid::authority {\n"
  "extern const unsigned char ${SYMBOL}[];\n"
  "extern const std::size_t ${SYMBOL}Size;\n"
  "const unsigned char ${SYMBOL}[] = {${bytes}};\n"
  "const std::size_t ${SYMBOL}Size = sizeof(${SYMBOL});\n"
  "}  // namespace realdid::authority\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
