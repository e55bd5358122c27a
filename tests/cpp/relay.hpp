// A TCP relay in front of the test sshd, for the C++ tests: it counts the
// connections made through it and can freeze every link (stop forwarding
// in both directions), at once or after a number of bytes from the server.
// A frozen link stalls a call without any timing assumption: only a timeout
// or an interrupt can end it.
#ifndef PSFTP_CPP_TEST_RELAY_HPP
#define PSFTP_CPP_TEST_RELAY_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fixture {

class Relay {
public:
    /// Listens on 127.0.0.1 (a free port) and forwards to 127.0.0.1:target.
    explicit Relay(int target) : target_(target) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr = loopback(0);
        if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_, 64) != 0)
            throw std::runtime_error("relay: cannot listen");
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~Relay() {
        stop_ = true;
        acceptor_.join(); // no new pumps from here on
        for (int fd : fds_)
            ::shutdown(fd, SHUT_RDWR);
        for (auto& t : pumps_)
            t.join();
        for (int fd : fds_)
            ::close(fd);
        ::close(listener_);
    }
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    int port() const { return port_; }
    /// Connections accepted so far.
    int connections() const { return connections_; }
    /// Stops forwarding now (bytes already forwarded stay delivered).
    void freeze() {
        std::lock_guard<std::mutex> lock(mutex_);
        frozen_ = true;
        changed_.notify_all();
    }
    /// Freezes once `bytes` more have gone from the server to the clients
    /// (counted over every connection).
    void freeze_after(std::uint64_t bytes) { freeze_at_ = server_bytes_ + bytes; }
    /// Waits until the relay is frozen; false if `limit` passed first.
    bool wait_frozen(std::chrono::seconds limit) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, limit, [this] { return frozen_; });
    }

private:
    static sockaddr_in loopback(int port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return addr;
    }
    bool frozen() {
        std::lock_guard<std::mutex> lock(mutex_);
        return frozen_;
    }

    void accept_loop() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0)
                continue;
            const int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0)
                continue;
            const int server = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in addr = loopback(target_);
            if (server < 0 ||
                ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                ::close(client);
                if (server >= 0)
                    ::close(server);
                continue;
            }
            std::lock_guard<std::mutex> lock(mutex_);
            connections_++;
            fds_.push_back(client);
            fds_.push_back(server);
            pumps_.emplace_back([this, client, server] { pump(client, server); });
        }
    }

    /// Forwards both ways until one side closes or the relay stops; while
    /// frozen it reads nothing, so nothing moves.
    void pump(int client, int server) {
        char buf[64 * 1024];
        while (!stop_) {
            if (frozen()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            pollfd p[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (::poll(p, 2, 50) <= 0)
                continue;
            for (int i = 0; i < 2; i++) {
                if (p[i].revents == 0)
                    continue;
                const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
                if (n <= 0 || !write_all(p[1 - i].fd, buf, static_cast<std::size_t>(n))) {
                    ::shutdown(client, SHUT_RDWR);
                    ::shutdown(server, SHUT_RDWR);
                    return;
                }
                if (p[i].fd == server &&
                    (server_bytes_ += static_cast<std::uint64_t>(n)) >= freeze_at_)
                    freeze();
            }
        }
    }
    static bool write_all(int fd, const char* data, std::size_t len) {
        while (len > 0) {
            const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            data += n;
            len -= static_cast<std::size_t>(n);
        }
        return true;
    }

    const int target_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::atomic<std::uint64_t> server_bytes_{0};
    std::atomic<std::uint64_t> freeze_at_{std::numeric_limits<std::uint64_t>::max()};
    std::mutex mutex_;
    std::condition_variable changed_;
    bool frozen_ = false;
    std::vector<int> fds_;
    std::thread acceptor_;
    std::vector<std::thread> pumps_;
};

} // namespace fixture

#endif
