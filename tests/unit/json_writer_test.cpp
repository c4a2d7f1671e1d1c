#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace ringgate {
namespace {

TEST(JsonWriter, NestedContainersAndEscapes) {
    JsonWriter json;
    json.beginObject()
        .field("name", "a\"b\\c\n")
        .field("n", 3)
        .field("ok", true)
        .key("list").beginArray().value(1).value(uint64_t{2}).beginObject().endObject().endArray()
        .key("none").null()
        .endObject();
    EXPECT_EQ(json.str(), R"({"name":"a\"b\\c\n","n":3,"ok":true,"list":[1,2,{}],"none":null})");
}

TEST(JsonWriter, ControlCharactersAndNonFinite) {
    JsonWriter json;
    json.beginArray().value(std::string_view("\x01", 1)).value(1.0 / 0.0).value(0.5).endArray();
    EXPECT_EQ(json.str(), R"(["\u0001",null,0.5])");
}

}  // namespace
}  // namespace ringgate
