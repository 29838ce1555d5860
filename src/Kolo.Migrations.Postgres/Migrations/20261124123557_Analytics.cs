using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Postgres.Migrations
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
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Kind = table.Column<string>(type: "character varying(12)", maxLength: 12, nullable: false),
                    Status = table.Column<string>(type: "character varying(12)", maxLength: 12, nullable: false),
                    Progress = table.Column<int>(type: "integer", nullable: false),
                    Stage = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: true),
                    AsOf = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    CalibrationEnd = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    HoldoutEnd = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    TimeUnit = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    Result = table.Column<string>(type: "text", nullable: true),
                    Error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    CreatedById = table.Column<Guid>(type: "uuid", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    HeartbeatAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    FinishedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_analytics_jobs", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "analytics_settings",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    Currency = table.Column<string>(type: "character varying(3)", maxLength: 3, nullable: false),
                    HorizonMonths = table.Column<int>(type: "integer", nullable: false),
                    AnnualDiscountRateBasisPoints = table.Column<int>(type: "integer", nullable: false),
                    PredictionDays = table.Column<int>(type: "integer", nullable: false),
                    WinBackThreshold = table.Column<double>(type: "double precision", nullable: false),
                    InteractionCosts = table.Column<string>(type: "text", nullable: false),
                    MinSupport = table.Column<double>(type: "double precision", nullable: false),
                    MinConfidence = table.Column<double>(type: "double precision", nullable: false),
                    RecomputeHours = table.Column<int>(type: "integer", nullable: false),
                    Version = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_analytics_settings", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "association_rules",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Antecedent = table.Column<string>(type: "text", nullable: false),
                    Consequent = table.Column<Guid>(type: "uuid", nullable: false),
                    Count = table.Column<int>(type: "integer", nullable: false),
                    Support = table.Column<double>(type: "double precision", nullable: false),
                    Confidence = table.Column<double>(type: "double precision", nullable: false),
                    Lift = table.Column<double>(type: "double precision", nullable: false),
                    MinedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_association_rules", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "customer_scores",
                columns: table => new
                {
                    CustomerId = table.Column<Guid>(type: "uuid", nullable: false),
                    AsOf = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Orders = table.Column<int>(type: "integer", nullable: false),
                    PurchaseDays = table.Column<int>(type: "integer", nullable: false),
                    FirstPurchaseAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    LastPurchaseAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: true),
                    RecencyDays = table.Column<int>(type: "integer", nullable: true),
                    RecencyScore = table.Column<int>(type: "integer", nullable: true),
                    FrequencyScore = table.Column<int>(type: "integer", nullable: true),
                    MonetaryScore = table.Column<int>(type: "integer", nullable: true),
                    Segment = table.Column<string>(type: "character varying(24)", maxLength: 24, nullable: true),
                    ProbabilityAlive = table.Column<double>(type: "double precision", nullable: true),
                    ExpectedPurchases = table.Column<double>(type: "double precision", nullable: true),
                    ExpectedOrderValueMinor = table.Column<long>(type: "bigint", nullable: true),
                    ClvMinor = table.Column<long>(type: "bigint", nullable: false),
                    RevenueMinor = table.Column<long>(type: "bigint", nullable: false),
                    CostOfGoodsMinor = table.Column<long>(type: "bigint", nullable: false),
                    DiscountsMinor = table.Column<long>(type: "bigint", nullable: false),
                    CostToServeMinor = table.Column<long>(type: "bigint", nullable: false),
                    AcquisitionCostMinor = table.Column<long>(type: "bigint", nullable: false),
                    MarginMinor = table.Column<long>(type: "bigint", nullable: false),
                    ValueAtStakeMinor = table.Column<long>(type: "bigint", nullable: false),
                    Currency = table.Column<string>(type: "character varying(3)", maxLength: 3, nullable: false),
                    ComputedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    Offers = table.Column<string>(type: "jsonb", nullable: true)
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
