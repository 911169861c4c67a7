// SPDX-License-Identifier: GPL-3.0-or-later
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestCollateral
/// @notice DEVELOPMENT AND TEST TOKEN, WORTHLESS: anyone can mint any amount to anyone. It
/// stands in for a 6-decimal stablecoin as ProvenOptions collateral in tests and the demo; never
/// deploy it as real collateral.
contract TestCollateral is ERC20 {
    /// @param name_ token name, e.g. "Test USD (worthless)"
    /// @param symbol_ token symbol, e.g. "tUSD"
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

    /// @notice 6 decimals, as the stablecoins it stands in for.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amount` base units to `to`; open to anyone (a test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
