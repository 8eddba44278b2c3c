#include <gtest/gtest.h>
#include <sodium.h>

#include "teesigner/core/random.hpp"

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 2;
    teesigner::core::set_random_source([](uint8_t* out, size_t len) { randombytes_buf(out, len); });
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
