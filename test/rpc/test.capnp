@0x876ee67dd037bd9d;
# A small service for testing the Asio/KJ adapter between two real processes.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("berth::testrpc");

interface Callback {
  call @0 (i :UInt32) -> (r :UInt32);
}

interface TestService {
  echo @0 (text :Text) -> (text :Text);
  callBack @1 (cb :Callback, n :UInt32) -> (sum :UInt32);
  # The server calls cb.call(i) for i in 1..n, one after another, and sums r.
  startTicking @2 (intervalMs :UInt32) -> ();
  stopTicking @3 () -> ();
  stats @4 () -> (ticks :UInt64, signals :UInt64, disconnects :UInt64, connections :UInt64);
  sleep @5 (ms :UInt32) -> (sleptMs :UInt32);
  # Answered by an Asio coroutine that waits on an Asio timer (spawnKj).
  fail @6 (code :Text) -> ();
  # Throws berth::Error with the named code.
}
