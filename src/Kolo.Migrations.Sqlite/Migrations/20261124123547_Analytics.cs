using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Analytics : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "analytics_jobs",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 12, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 12, nullable: false),
                    Progress = table.Column<int>(type: "INTEGER", nullable: false),
                    Stage = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    AsOf = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CalibrationEnd = table.Column<DateTime>(type: "TEXT", nullable: true),
                    HoldoutEnd = table.Column<DateTime>(type: "TEXT", nullable: true),
                    TimeUnit = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Result = table.Column<string>(type: "TEXT", nullable: true),
                    Error = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    CreatedById = table.Column<Guid>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    HeartbeatAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedAt = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_analytics_jobs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "analytics_settings",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    Currency = table.Column<string>(type: "TEXT", maxLength: 3, nullable: false),
                    HorizonMonths = table.Column<int>(type: "INTEGER", nullable: false),
                    AnnualDiscountRateBasisPoints = table.Column<int>(type: "INTEGER", nullable: false),
                    PredictionDays = table.Column<int>(type: "INTEGER", nullable: false),
                    WinBackThreshold = table.Column<double>(type: "REAL", nullable: false),
                    InteractionCosts = table.Column<string>(type: "TEXT", nullable: false),
                    MinSupport = table.Column<double>(type: "REAL", nullable: false),
                    MinConfidence = table.Column<double>(type: "REAL", nullable: false),
                    RecomputeHours = table.Column<int>(type: "INTEGER", nullable: false),
                    Version = table.Column<Guid>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_analytics_settings", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "association_rules",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Antecedent = table.Column<string>(type: "TEXT", nullable: false),
                    Consequent = table.Column<Guid>(type: "TEXT", nullable: false),
                    Count = table.Column<int>(type: "INTEGER", nullable: false),
                    Support = table.Column<double>(type: "REAL", nullable: false),
                    Confidence = table.Column<double>(type: "REAL", nullable: false),
                    Lift = table.Column<double>(type: "REAL", nullable: false),
                    MinedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_association_rules", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "customer_scores",
                columns: table => new
                {
                    CustomerId = table.Column<Guid>(type: "TEXT", nullable: false),
                    AsOf = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Orders = table.Column<int>(type: "INTEGER", nullable: false),
                    PurchaseDays = table.Column<int>(type: "INTEGER", nullable: false),
                    FirstPurchaseAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    LastPurchaseAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    RecencyDays = table.Column<int>(type: "INTEGER", nullable: true),
                    RecencyScore = table.Column<int>(type: "INTEGER", nullable: true),
                    FrequencyScore = table.Column<int>(type: "INTEGER", nullable: true),
                    MonetaryScore = table.Column<int>(type: "INTEGER", nullable: true),
                    Segment = table.Column<string>(type: "TEXT", maxLength: 24, nullable: true),
                    ProbabilityAlive = table.Column<double>(type: "REAL", nullable: true),
                    ExpectedPurchases = table.Column<double>(type: "REAL", nullable: true),
                    ExpectedOrderValueMinor = table.Column<long>(type: "INTEGER", nullable: true),
                    ClvMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    RevenueMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    CostOfGoodsMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    DiscountsMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    CostToServeMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    AcquisitionCostMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    MarginMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    ValueAtStakeMinor = table.Column<long>(type: "INTEGER", nullable: false),
                    Currency = table.Column<string>(type: "TEXT", maxLength: 3, nullable: false),
                    ComputedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Offers = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_customer_scores", x => x.CustomerId);
                    table.ForeignKey(
                        name: "FK_customer_scores_customers_CustomerId",
                        column: x => x.CustomerId,
                        principalTable: "customers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_analytics_jobs_Kind_Status_FinishedAt",
                table: "analytics_jobs",
                columns: new[] { "Kind", "Status", "FinishedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_analytics_jobs_Status_CreatedAt",
                table: "analytics_jobs",
                columns: new[] { "Status", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_association_rules_Consequent_Lift",
                table: "association_rules",
                columns: new[] { "Consequent", "Lift" });

            migrationBuilder.CreateIndex(
                name: "IX_customer_scores_ClvMinor_CustomerId",
                table: "customer_scores",
                columns: new[] { "ClvMinor", "CustomerId" });

            migrationBuilder.CreateIndex(
                name: "IX_customer_scores_MarginMinor_CustomerId",
                table: "customer_scores",
                columns: new[] { "MarginMinor", "CustomerId" });

            migrationBuilder.CreateIndex(
                name: "IX_customer_scores_ProbabilityAlive_CustomerId",
                table: "customer_scores",
                columns: new[] { "ProbabilityAlive", "CustomerId" });

            migrationBuilder.CreateIndex(
                name: "IX_customer_scores_Segment_CustomerId",
                table: "customer_scores",
                columns: new[] { "Segment", "CustomerId" });

            migrationBuilder.CreateIndex(
                name: "IX_customer_scores_ValueAtStakeMinor_CustomerId",
                table: "customer_scores",
                columns: new[] { "ValueAtStakeMinor", "CustomerId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "analytics_jobs");

            migrationBuilder.DropTable(
                name: "analytics_settings");

            migrationBuilder.DropTable(
                name: "association_rules");

            migrationBuilder.DropTable(
                name: "customer_scores");
        }
    }
}
