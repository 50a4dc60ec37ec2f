// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title NaiveEventLog — the usual EVM traceability design, for the benchmark only
/// @notice One transaction per trace event: the event's JSON goes into calldata and a log, its hash
///         into storage, as most EVM traceability projects do. `npm run bench ingest` sends events
///         through it and through YuTrace on the same node to compare throughput and gas. Not
///         deployed by YuTrace itself.
contract NaiveEventLog {
    /// @notice When each event hash was recorded (block time), 0 if never.
    mapping(bytes32 eventHash => uint256 recordedAt) public recorded;
    /// @notice How many events each batch has.
    mapping(bytes32 batchId => uint256 count) public eventCount;

    /// @notice An event was recorded for `batchId` by `recorder`.
    event EventRecorded(bytes32 indexed batchId, bytes32 indexed eventHash, address indexed recorder, string eventJson);

    /// @notice The event was recorded before.
    error NaiveEventLogDuplicate(bytes32 eventHash);

    /// @notice Records one event of `batchId`.
    function recordEvent(bytes32 batchId, string calldata eventJson) external {
        bytes32 eventHash = keccak256(bytes(eventJson));
        if (recorded[eventHash] != 0) revert NaiveEventLogDuplicate(eventHash);
        recorded[eventHash] = block.timestamp;
        ++eventCount[batchId];
        emit EventRecorded(batchId, eventHash, msg.sender, eventJson);
    }
}
