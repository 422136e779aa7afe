// engine_native: the engine's Verilator model driven by a plain C++ loop, no cocotb.
//
// The speed reference of `make bench-sim` (tb/engine/bench.py): a pixel offered every cycle,
// the output always ready, so it measures what the RTL itself costs to simulate. It still
// checks every logit against the integer reference, so a fast wrong model cannot pass.
//
//   engine_native <images.bin> <logits.bin> <n_images> <n_classes> <pixels>
//
// images.bin: n_images * pixels bytes; logits.bin: n_images * n_classes int32 (little endian).
// Prints one JSON line: images, cycles, seconds, cpu_seconds, images_per_s, images_per_cpu_s,
// cycles_per_s, mismatches.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <memory>
#include <vector>

#include "Vcnn_engine.h"
#include "verilated.h"

static std::vector<uint8_t> read_file(const char* path) {
    FILE* f = std::fopen(path, "rb");
    if (!f) {
        std::fprintf(stderr, "engine_native: cannot open %s\n", path);
        std::exit(2);
    }
    std::vector<uint8_t> data;
    uint8_t buf[65536];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + got);
    std::fclose(f);
    return data;
}

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s images.bin logits.bin n_images n_classes pixels\n", argv[0]);
        return 2;
    }
    const std::vector<uint8_t> images = read_file(argv[1]);
    const std::vector<uint8_t> logit_bytes = read_file(argv[2]);
    const long n = std::atol(argv[3]), classes = std::atol(argv[4]), pixels = std::atol(argv[5]);
    if ((long)images.size() != n * pixels || (long)logit_bytes.size() != n * classes * 4) {
        std::fprintf(stderr, "engine_native: file sizes do not match %ld images\n", n);
        return 2;
    }
    const int32_t* want = reinterpret_cast<const int32_t*>(logit_bytes.data());

    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vcnn_engine>(ctx.get());
    top->clk = 0;
    top->rst = 1;
    top->s_axis_tvalid = 0;
    top->m_axis_tready = 1;
    top->s_wload_axis_tvalid = 0;
    for (int i = 0; i < 10; ++i) {  // reset
        top->clk = !top->clk;
        top->eval();
    }
    top->rst = 0;

    const long total = n * pixels;
    long next = 0, beat = 0, frame = 0, mismatches = 0;
    uint64_t cycles = 0;
    const long max_cycles = 100 * (n + 10) * pixels + 1000000;
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t cpu0 = std::clock();
    while (frame < n && (long)cycles < max_cycles) {
        // Drive the inputs for this cycle, then the rising edge.
        top->s_axis_tvalid = next < total;
        top->s_axis_tdata = next < total ? images[next] : 0;
        top->s_axis_tkeep = 1;  // one pixel per beat, kept (TKEEP low zeroes it and flags the frame)
        top->s_axis_tlast = next < total && (next % pixels) == pixels - 1;
        top->clk = 0;
        top->eval();
        const bool in_hs = top->s_axis_tvalid && top->s_axis_tready;
        const bool out_hs = top->m_axis_tvalid && top->m_axis_tready;
        const uint32_t data = top->m_axis_tdata;
        const bool last = top->m_axis_tlast;
        top->clk = 1;
        top->eval();
        ++cycles;
        if (in_hs) ++next;
        if (out_hs) {
            if (beat < classes && (int32_t)data != want[frame * classes + beat]) ++mismatches;
            ++beat;
            if (last) {
                if (beat != classes + 1) ++mismatches;
                beat = 0;
                ++frame;
            }
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu_secs = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
    top->final();
    std::printf(
        "{\"images\": %ld, \"cycles\": %llu, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
        "\"images_per_s\": %.3f, \"images_per_cpu_s\": %.3f, \"cycles_per_s\": %.1f, \"mismatches\": %ld}\n",
        frame, (unsigned long long)cycles, secs, cpu_secs, frame / secs, frame / cpu_secs, cycles / secs, mismatches);
    return (frame == n && mismatches == 0) ? 0 : 1;
}
