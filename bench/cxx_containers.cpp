// cxx_containers.cpp - the C++ workload of `make bench`.
//
//     cxx_containers ROUNDS
//
// Each round fills and drains the standard containers a typical C++
// service churns through: a std::map of string keys (one node per insert),
// a std::unordered_map (nodes plus bucket arrays that rehash), std::string
// concatenation past the small-string buffer, and std::vector growth. All
// of it reaches malloc through operator new and delete. The program prints
// a checksum of what it built so that the benchmark can compare the output
// of traced runs with the native one, and so that nothing is optimised away.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::uint64_t next_random(std::uint64_t &state)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

// Keys long enough to need a heap buffer (libstdc++ keeps 15 chars inline).
__attribute__((noinline)) std::string make_key(std::uint64_t r)
{
    std::string key = "customer/";
    key += std::to_string(r % 100000);
    key += "/order/";
    key += std::to_string((r >> 20) % 1000);
    return key;
}

__attribute__((noinline)) std::uint64_t map_round(std::uint64_t &rng,
                                                  int entries)
{
    std::map<std::string, std::vector<int>> orders;
    std::uint64_t sum = 0;
    for (int i = 0; i < entries; i++) {
        std::uint64_t r = next_random(rng);
        auto &lines = orders[make_key(r)];
        lines.push_back(static_cast<int>(r & 0xffff));
    }
    for (auto it = orders.begin(); it != orders.end();) {
        sum += it->first.size() * 31 + it->second.size();
        // Erase every other entry one by one, as a cache expiry would.
        it = (it->second.front() & 1) ? orders.erase(it) : std::next(it);
    }
    return sum + orders.size();
}

__attribute__((noinline)) std::uint64_t hash_round(std::uint64_t &rng,
                                                   int entries)
{
    std::unordered_map<std::uint64_t, std::string> names;
    std::uint64_t sum = 0;
    for (int i = 0; i < entries; i++) {
        std::uint64_t r = next_random(rng);
        names[r % (entries * 2)] = make_key(r) + "#" + std::to_string(i);
    }
    for (int i = 0; i < entries; i++) {
        auto it = names.find(static_cast<std::uint64_t>(i));
        if (it != names.end()) {
            sum += it->second.size();
            names.erase(it);
        }
    }
    return sum + names.size() + names.bucket_count() % 7;
}

__attribute__((noinline)) std::uint64_t string_round(std::uint64_t &rng,
                                                     int pieces)
{
    std::string text;
    std::vector<std::string> lines;
    std::uint64_t sum = 0;
    for (int i = 0; i < pieces; i++) {
        std::uint64_t r = next_random(rng);
        text += make_key(r);
        text += ';';
        if (text.size() > 400) {
            lines.push_back(std::move(text));
            text = std::string();
        }
    }
    for (const auto &line : lines)
        sum = sum * 131 + static_cast<unsigned char>(line[line.size() / 2]);
    return sum + lines.size();
}

__attribute__((noinline)) std::uint64_t vector_round(std::uint64_t &rng,
                                                     int vectors)
{
    std::vector<std::vector<std::uint32_t>> all;
    std::uint64_t sum = 0;
    for (int i = 0; i < vectors; i++) {
        std::vector<std::uint32_t> v;
        int n = static_cast<int>(next_random(rng) % 600);
        for (int j = 0; j < n; j++)    // no reserve: growth by reallocation
            v.push_back(static_cast<std::uint32_t>(j * i));
        if (i % 3 == 0)
            all.push_back(std::move(v));
        else
            sum += v.empty() ? 0 : v.back();
    }
    for (const auto &v : all)
        sum += v.size();
    return sum;
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = argc == 2 ? std::atoi(argv[1]) : 0;
    if (rounds < 1) {
        std::fprintf(stderr, "usage: cxx_containers ROUNDS\n");
        return 2;
    }
    std::uint64_t rng = 0x853C49E6748FEA9Bull;
    std::uint64_t checksum = 0;
    for (int round = 0; round < rounds; round++) {
        checksum = checksum * 3 + map_round(rng, 4000);
        checksum = checksum * 3 + hash_round(rng, 4000);
        checksum = checksum * 3 + string_round(rng, 4000);
        checksum = checksum * 3 + vector_round(rng, 400);
    }
    std::printf("cxx-containers rounds=%d checksum=%016llx\n", rounds,
                static_cast<unsigned long long>(checksum));
    return 0;
}
