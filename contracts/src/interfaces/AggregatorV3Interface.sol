// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title AggregatorV3Interface
/// @notice Chainlink's price feed interface, declared here with its exact signatures so that any
/// Chainlink consumer can read a ProvenPriceFeed unchanged.
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function version() external view returns (uint256);

    function getRoundData(uint80 _roundId)
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        );

    function latestRoundData()
        external
        view
        returns (
            uint80 roundId,
            int256 answer,
            uint256 startedAt,
            uint256 updatedAt,
            uint80 answeredInRound
        );
}
