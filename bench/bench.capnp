@0x9e908579b0cae723;
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::bench");

interface Echo {
  echo @0 (n :UInt64) -> (n :UInt64);
}
