// The one way berth includes Boost.Asio.
#pragma once
// g++ 12 in C++20 mode: Boost 1.74's asio uses std::exchange & co. without
// including <utility> itself, so it must come first.
#include <utility>
#include <boost/asio.hpp>

namespace asio = boost::asio;
