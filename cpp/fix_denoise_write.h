/* -*- c++ -*- ----------------------------------------------------------
   lmp-denoise: fix denoise/write, on-the-fly compressed trajectories of denoised positions
------------------------------------------------------------------------- */

#ifdef FIX_CLASS
// clang-format off
FixStyle(denoise/write,FixDenoiseWrite);
// clang-format on
#else

#ifndef LMP_FIX_DENOISE_WRITE_H
#define LMP_FIX_DENOISE_WRITE_H

#include "fix.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace LAMMPS_NS {

class FixDenoiseWrite : public Fix {
 public:
  FixDenoiseWrite(class LAMMPS *, int, char **);
  ~FixDenoiseWrite() override;
  int setmask() override;
  void init() override;
  void setup(int) override;
  void end_of_step() override;
  double compute_vector(int) override;
  double memory_usage() override;

 private:
  std::string filename, compute_id;
  class Compute *compute;
  double bound;
  FILE *fp;    // rank 0 only
  bigint last_written;
  double stats[4];    // frames and bytes written, seconds writing, seconds in compute evaluations

  // encoder state (rank 0): the previous frame as the reader will reconstruct it
  std::vector<int64_t> prev_ids, prev_q;
  std::vector<int32_t> prev_types;
  int64_t grid[3];
  int age;

  void open_file(bool);
  void write_frame();
  std::vector<uint8_t> encode(std::vector<int64_t> &, std::vector<int32_t> &, std::vector<double> &,
                              std::vector<double> &);
};

}    // namespace LAMMPS_NS

#endif
#endif
