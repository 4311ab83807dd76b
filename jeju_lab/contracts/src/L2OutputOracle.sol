// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title L2OutputOracle (lab subset)
/// @notice A faithful, non-upgradeable subset of the OP Stack L2OutputOracle (contracts-bedrock 1.8.0):
///         the same ABI for the calls the playbooks and op-proposer make, the same checks and revert
///         reasons, constructor arguments instead of an initializer.
contract L2OutputOracle {
    /// @notice One proposal: the output root, the L1 timestamp at which it was proposed, its L2 block.
    struct OutputProposal {
        bytes32 outputRoot;
        uint128 timestamp;
        uint128 l2BlockNumber;
    }

    uint256 public startingBlockNumber;
    uint256 public startingTimestamp;
    uint256 public submissionInterval;
    uint256 public l2BlockTime;
    address public challenger;
    address public proposer;
    uint256 public finalizationPeriodSeconds;

    OutputProposal[] internal l2Outputs;

    event OutputProposed(
        bytes32 indexed outputRoot, uint256 indexed l2OutputIndex, uint256 indexed l2BlockNumber, uint256 l1Timestamp
    );

    event OutputsDeleted(uint256 indexed prevNextOutputIndex, uint256 indexed newNextOutputIndex);

    string public constant version = "1.8.0";

    constructor(
        uint256 _submissionInterval,
        uint256 _l2BlockTime,
        uint256 _startingBlockNumber,
        uint256 _startingTimestamp,
        address _proposer,
        address _challenger,
        uint256 _finalizationPeriodSeconds
    ) {
        require(_submissionInterval > 0, "L2OutputOracle: submission interval must be greater than 0");
        require(_l2BlockTime > 0, "L2OutputOracle: L2 block time must be greater than 0");
        require(
            _startingTimestamp <= block.timestamp,
            "L2OutputOracle: starting L2 timestamp must be less than current time"
        );
        submissionInterval = _submissionInterval;
        l2BlockTime = _l2BlockTime;
        startingBlockNumber = _startingBlockNumber;
        startingTimestamp = _startingTimestamp;
        proposer = _proposer;
        challenger = _challenger;
        finalizationPeriodSeconds = _finalizationPeriodSeconds;
    }

    /// @custom:legacy getter kept by the real contract and used by op-proposer and monitors.
    function SUBMISSION_INTERVAL() external view returns (uint256) {
        return submissionInterval;
    }

    function L2_BLOCK_TIME() external view returns (uint256) {
        return l2BlockTime;
    }

    function CHALLENGER() external view returns (address) {
        return challenger;
    }

    function PROPOSER() external view returns (address) {
        return proposer;
    }

    function FINALIZATION_PERIOD_SECONDS() external view returns (uint256) {
        return finalizationPeriodSeconds;
    }

    /// @notice Deletes the output at `_l2OutputIndex` and every later one. Challenger only.
    function deleteL2Outputs(uint256 _l2OutputIndex) external {
        require(msg.sender == challenger, "L2OutputOracle: only the challenger address can delete outputs");
        require(
            _l2OutputIndex < l2Outputs.length, "L2OutputOracle: cannot delete outputs after the latest output index"
        );
        require(
            block.timestamp - l2Outputs[_l2OutputIndex].timestamp < finalizationPeriodSeconds,
            "L2OutputOracle: cannot delete outputs that have already been finalized"
        );
        uint256 previousNextIndex = nextOutputIndex();
        uint256 toRemove = previousNextIndex - _l2OutputIndex;
        for (uint256 i = 0; i < toRemove; i++) {
            l2Outputs.pop();
        }
        emit OutputsDeleted(previousNextIndex, _l2OutputIndex);
    }

    /// @notice Records the output root of L2 block `_l2BlockNumber`. Proposer only; the block must be
    ///         `nextBlockNumber()`, already in the past, and `_l1BlockHash` (when not zero) must match.
    function proposeL2Output(
        bytes32 _outputRoot,
        uint256 _l2BlockNumber,
        bytes32 _l1BlockHash,
        uint256 _l1BlockNumber
    )
        external
        payable
    {
        require(msg.sender == proposer, "L2OutputOracle: only the proposer address can propose new outputs");
        require(
            _l2BlockNumber == nextBlockNumber(),
            "L2OutputOracle: block number must be equal to next expected block number"
        );
        require(
            computeL2Timestamp(_l2BlockNumber) < block.timestamp,
            "L2OutputOracle: cannot propose L2 output in the future"
        );
        require(_outputRoot != bytes32(0), "L2OutputOracle: L2 output proposal cannot be the zero hash");
        if (_l1BlockHash != bytes32(0)) {
            require(
                blockhash(_l1BlockNumber) == _l1BlockHash,
                "L2OutputOracle: block hash does not match the hash at the expected height"
            );
        }

        emit OutputProposed(_outputRoot, nextOutputIndex(), _l2BlockNumber, block.timestamp);

        l2Outputs.push(
            OutputProposal({
                outputRoot: _outputRoot,
                timestamp: uint128(block.timestamp),
                l2BlockNumber: uint128(_l2BlockNumber)
            })
        );
    }

    function getL2Output(uint256 _l2OutputIndex) external view returns (OutputProposal memory) {
        return l2Outputs[_l2OutputIndex];
    }

    /// @notice The index of the first output at or after `_l2BlockNumber` (binary search).
    function getL2OutputIndexAfter(uint256 _l2BlockNumber) public view returns (uint256) {
        require(
            _l2BlockNumber <= latestBlockNumber(),
            "L2OutputOracle: cannot get output for a block that has not been proposed"
        );
        require(l2Outputs.length > 0, "L2OutputOracle: cannot get output as no outputs have been proposed yet");
        uint256 lo = 0;
        uint256 hi = l2Outputs.length;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (l2Outputs[mid].l2BlockNumber < _l2BlockNumber) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    function getL2OutputAfter(uint256 _l2BlockNumber) external view returns (OutputProposal memory) {
        return l2Outputs[getL2OutputIndexAfter(_l2BlockNumber)];
    }

    /// @notice Reverts (arithmetic underflow) when no output has been proposed yet, like the real contract.
    function latestOutputIndex() external view returns (uint256) {
        return l2Outputs.length - 1;
    }

    function nextOutputIndex() public view returns (uint256) {
        return l2Outputs.length;
    }

    function latestBlockNumber() public view returns (uint256) {
        return l2Outputs.length == 0 ? startingBlockNumber : l2Outputs[l2Outputs.length - 1].l2BlockNumber;
    }

    function nextBlockNumber() public view returns (uint256) {
        return latestBlockNumber() + submissionInterval;
    }

    function computeL2Timestamp(uint256 _l2BlockNumber) public view returns (uint256) {
        return startingTimestamp + ((_l2BlockNumber - startingBlockNumber) * l2BlockTime);
    }
}
