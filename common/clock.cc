#include "common/clock.h"

namespace kv {

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();
  return clock;
}

}  // namespace kv
