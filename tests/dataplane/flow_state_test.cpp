#include "dataplane/flow.h"

#include <gtest/gtest.h>

#include "dataplane/packet.h"

namespace ringgate::dataplane {
namespace {

constexpr bool kClient = true;
constexpr bool kServer = false;

TEST(FlowState, HandshakeDataAndOrderlyClose) {
    struct Step {
        bool fromClient;
        uint8_t flags;
        FlowState expected;
    };
    std::vector<Step> steps = {
        {kServer, kTcpSyn | kTcpAck, FlowState::SynReceived},
        {kClient, kTcpAck, FlowState::Established},
        {kClient, kTcpAck, FlowState::Established},
        {kServer, kTcpAck, FlowState::Established},
        {kClient, kTcpFin | kTcpAck, FlowState::FinFromClient},
        {kClient, kTcpAck, FlowState::FinFromClient},
        {kServer, kTcpFin | kTcpAck, FlowState::TimeWait},
        {kClient, kTcpAck, FlowState::TimeWait},
    };
    FlowState state = initialState(kProtoTcp, kTcpSyn);
    EXPECT_EQ(state, FlowState::SynSent);
    for (size_t i = 0; i < steps.size(); ++i) {
        state = nextState(state, steps[i].fromClient, steps[i].flags);
        EXPECT_EQ(state, steps[i].expected) << "step " << i;
    }
}

TEST(FlowState, ResetFromEitherSideCloses) {
    for (bool side : {kClient, kServer}) {
        for (FlowState from : {FlowState::SynSent, FlowState::Established, FlowState::FinFromServer})
            EXPECT_EQ(nextState(from, side, kTcpRst | kTcpAck), FlowState::Closed);
    }
}

TEST(FlowState, ServerClosesFirst) {
    FlowState s = nextState(FlowState::Established, kServer, kTcpFin | kTcpAck);
    EXPECT_EQ(s, FlowState::FinFromServer);
    EXPECT_EQ(nextState(s, kServer, kTcpAck), FlowState::FinFromServer);
    EXPECT_EQ(nextState(s, kClient, kTcpFin | kTcpAck), FlowState::TimeWait);
}

TEST(FlowState, NewSynReopensAFinishedTuple) {
    EXPECT_EQ(nextState(FlowState::TimeWait, kClient, kTcpSyn), FlowState::SynSent);
    EXPECT_EQ(nextState(FlowState::Closed, kClient, kTcpSyn), FlowState::SynSent);
    EXPECT_EQ(nextState(FlowState::Established, kClient, kTcpSyn), FlowState::Established);
}

TEST(FlowState, InitialStates) {
    EXPECT_EQ(initialState(kProtoUdp, 0), FlowState::Udp);
    EXPECT_EQ(initialState(kProtoTcp, kTcpAck), FlowState::Established);
    EXPECT_EQ(initialState(kProtoTcp, kTcpRst), FlowState::Closed);
    EXPECT_EQ(nextState(FlowState::Udp, kClient, kTcpRst), FlowState::Udp);
}

TEST(FlowState, TimeoutsPerState) {
    FlowTimeouts t;
    EXPECT_EQ(timeoutMs(FlowState::SynSent, t), t.synMs);
    EXPECT_EQ(timeoutMs(FlowState::Established, t), t.establishedMs);
    EXPECT_EQ(timeoutMs(FlowState::FinFromClient, t), t.finMs);
    EXPECT_EQ(timeoutMs(FlowState::Closed, t), t.closedMs);
    EXPECT_EQ(timeoutMs(FlowState::Udp, t), t.udpMs);
}

}  // namespace
}  // namespace ringgate::dataplane
